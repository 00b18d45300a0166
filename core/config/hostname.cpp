#include "config/hostname.h"

#include <regex.h>
#include <unistd.h>

#include <cctype>
#include <vector>

#include <fmt/format.h>

namespace adf::config {

struct SedRewrite::Compiled {
    regex_t regex{};
    explicit Compiled(const regex_t &compiled) : regex(compiled) {}
    ~Compiled() { regfree(&regex); }
    Compiled(const Compiled &) = delete;
    Compiled &operator=(const Compiled &) = delete;
};

namespace {

// Longest rule accepted: a rule is a short expression, and a bound keeps
// regcomp()'s work on any config small.
constexpr size_t kMaxRuleLength = 256;

// The parts of "s/A/B/flags" split at unescaped delimiters; "\/" in A or B
// stands for the delimiter itself, other escapes stay for regcomp (in A) or
// for the replacement (in B).
Result<std::vector<std::string>> split_rule(const std::string &text) {
    using Out = Result<std::vector<std::string>>;
    if (text.size() < 4 || text[0] != 's')
        return Out::failure("expected a sed substitution s/REGEX/REPLACEMENT/ (flag g optional)");
    const char delimiter = text[1];
    if (delimiter == '\\' || delimiter == '\n' || std::isalnum(static_cast<unsigned char>(delimiter)))
        return Out::failure(fmt::format("'{}' cannot delimit a sed substitution", delimiter));
    std::vector<std::string> parts(1);
    for (size_t i = 2; i < text.size(); ++i) {
        const char c = text[i];
        if (c == '\\' && i + 1 < text.size() && text[i + 1] == delimiter) {
            parts.back() += delimiter;
            ++i;
        } else if (c == '\\' && i + 1 < text.size()) {
            parts.back() += text.substr(i, 2);
            ++i;
        } else if (c == delimiter && parts.size() < 3) {
            parts.emplace_back();
        } else {
            parts.back() += c;
        }
    }
    if (parts.size() != 3)
        return Out::failure(fmt::format("expected s{0}REGEX{0}REPLACEMENT{0}: the substitution "
                                        "is not closed",
                                        delimiter));
    if (parts[0].empty()) return Out::failure("the regular expression is empty");
    if (!parts[2].empty() && parts[2] != "g")
        return Out::failure(fmt::format("unknown flag \"{}\" (only g, every match, is known)",
                                        parts[2]));
    return parts;
}

// `replacement` with & and \1..\9 filled in from the match in `subject`.
std::string expand(const std::string &replacement, const std::string &subject,
                   const regmatch_t *groups) {
    std::string out;
    const auto group = [&](size_t n) {
        if (groups[n].rm_so < 0) return std::string();
        return subject.substr(static_cast<size_t>(groups[n].rm_so),
                              static_cast<size_t>(groups[n].rm_eo - groups[n].rm_so));
    };
    for (size_t i = 0; i < replacement.size(); ++i) {
        const char c = replacement[i];
        if (c == '&') {
            out += group(0);
        } else if (c == '\\' && i + 1 < replacement.size()) {
            const char next = replacement[++i];
            if (next >= '1' && next <= '9') out += group(static_cast<size_t>(next - '0'));
            else out += next;  // "\&", "\\" and the rest stand for themselves
        } else {
            out += c;
        }
    }
    return out;
}

}  // namespace

std::string short_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    const std::string host(name);
    return host.substr(0, host.find('.'));
}

Result<SedRewrite> SedRewrite::parse(const std::string &text) {
    using Out = Result<SedRewrite>;
    if (text.size() > kMaxRuleLength)
        return Out::failure(fmt::format("longer than {} characters", kMaxRuleLength));
    Result<std::vector<std::string>> parts = split_rule(text);
    if (!parts) return Out::failure(parts.reason());
    regex_t regex;
    if (const int error = regcomp(&regex, (*parts)[0].c_str(), REG_EXTENDED); error != 0) {
        char why[256];
        regerror(error, &regex, why, sizeof why);
        return Out::failure(fmt::format("not a regular expression: {}", why));
    }
    SedRewrite rule;
    rule.text_ = text;
    rule.regex_ = std::make_shared<const Compiled>(regex);
    rule.replacement_ = (*parts)[1];
    rule.global_ = (*parts)[2] == "g";
    for (size_t i = 0; i + 1 < rule.replacement_.size(); ++i) {
        if (rule.replacement_[i] != '\\') continue;
        const char next = rule.replacement_[++i];
        if (next >= '1' && next <= '9' &&
            static_cast<size_t>(next - '0') > rule.regex_->regex.re_nsub)
            return Out::failure(fmt::format("\\{} refers to a group the expression does not have",
                                            next));
    }
    return rule;
}

std::string SedRewrite::apply(const std::string &subject) const {
    std::string out;
    size_t from = 0;
    regmatch_t groups[10];
    while (from <= subject.size()) {
        const int flags = from > 0 ? REG_NOTBOL : 0;
        if (regexec(&regex_->regex, subject.c_str() + from, 10, groups, flags) != 0) break;
        // Offsets are relative to `from`; make them absolute.
        for (regmatch_t &g : groups)
            if (g.rm_so >= 0) {
                g.rm_so += static_cast<regoff_t>(from);
                g.rm_eo += static_cast<regoff_t>(from);
            }
        out += subject.substr(from, static_cast<size_t>(groups[0].rm_so) - from);
        out += expand(replacement_, subject, groups);
        const size_t end = static_cast<size_t>(groups[0].rm_eo);
        if (end == static_cast<size_t>(groups[0].rm_so)) {  // an empty match: move on by one
            if (end < subject.size()) out += subject[end];
            from = end + 1;
        } else {
            from = end;
        }
        if (!global_) break;
    }
    if (from < subject.size()) out += subject.substr(from);
    return out;
}

}  // namespace adf::config
