#include "config/validator.h"

#include <algorithm>
#include <limits>

#include <autodnsfailover/json.hpp>
#include <fmt/format.h>

#include "config/config.h"

namespace adf::config {

using json = nlohmann::json;
using adf::json::shown;

void Validator::fail(const std::string &path, const std::string &what) {
    std::string prefix = source_.empty() ? "config" : source_;
    errors_.push_back(path.empty() ? fmt::format("{}: {}", prefix, what)
                                   : fmt::format("{}: {}: {}", prefix, path, what));
}

void Validator::expected(const std::string &path, const std::string &what, const json &got) {
    fail(path, fmt::format("expected {}, got {}", what, shown(got)));
}

std::optional<long long> Validator::integer(const json &value, const std::string &path,
                                            long long low, long long high, const char *word) {
    std::optional<long long> n;
    if (value.is_number_unsigned()) {
        auto u = value.get<unsigned long long>();
        if (u <= static_cast<unsigned long long>(std::numeric_limits<long long>::max()))
            n = static_cast<long long>(u);
    } else if (value.is_number_integer()) {
        n = value.get<long long>();
    }
    if (!n || *n < low || *n > high) {
        expected(path,
                 fmt::format("{}an integer from {} to {}",
                             word ? fmt::format("\"{}\" or ", word) : "", low, high),
                 value);
        return std::nullopt;
    }
    return n;
}

std::optional<double> Validator::number(const json &value, const std::string &path, double low,
                                        double high) {
    if (!value.is_number() || !(value.get<double>() >= low && value.get<double>() <= high)) {
        expected(path, fmt::format("a number from {} to {}", low, high), value);
        return std::nullopt;
    }
    return value.get<double>();
}

std::optional<std::string> Validator::non_empty_string(const json &value, const std::string &path,
                                                       const std::string &what) {
    if (!value.is_string() || value.get<std::string>().empty()) {
        expected(path, what, value);
        return std::nullopt;
    }
    return value.get<std::string>();
}

void Validator::unknown_keys(const json &object, const std::string &prefix,
                             std::initializer_list<const char *> known) {
    for (const auto &item : object.items()) {
        bool is_known = std::any_of(known.begin(), known.end(),
                                    [&](const char *key) { return item.key() == key; });
        if (!is_known) fail(display_path(prefix, "/" + pointer_token(item.key())), "unknown key");
    }
}

}  // namespace adf::config
