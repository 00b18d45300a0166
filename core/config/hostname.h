// Names derived from the host's own name: a pool of web-1, web-2, web-3 can
// share one config whose fqdn is "{hostname}.example.com", the host name
// rewritten by a sed-like rule first (the 2012 tool's fork derived its
// names with sed: "s/-[0-9]+//" turns web-3 into web).
#pragma once

#include <autodnsfailover/result.hpp>

#include <memory>
#include <string>

namespace adf::config {

// This host's short name: gethostname() up to its first dot.
std::string short_host_name();

// A substitution written as sed writes one, "s/REGEX/REPLACEMENT/" with an
// optional "g" flag (every match, not only the first) and any delimiter
// ("s|-[0-9]+$||"). REGEX is a POSIX extended regular expression (sed -E),
// matched without backtracking blow-ups; REPLACEMENT may hold & (the match)
// and \1 to \9 (groups). Immutable; copies share the compiled expression.
class SedRewrite {
   public:
    // The rule, or why `text` is not one (what sed or regcomp would say).
    static Result<SedRewrite> parse(const std::string &text);
    std::string apply(const std::string &subject) const;
    const std::string &text() const { return text_; }

   private:
    struct Compiled;
    SedRewrite() = default;
    std::string text_;
    std::shared_ptr<const Compiled> regex_;
    std::string replacement_;
    bool global_ = false;
};

}  // namespace adf::config
