// Reads a JSON object of the config with every error collected, so that an
// operator fixes the file in one go instead of one error per restart. Each
// error names the source file and the JSON path ("x.json: safety.min_records:
// expected an integer from 1 to 1000, got 0"). Shared by the readers of the
// config's sections (config.cpp, peers.cpp).
#pragma once

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace adf::config {

class Validator {
   public:
    explicit Validator(std::string source) : source_(std::move(source)) {}

    void fail(const std::string &path, const std::string &what);
    void expected(const std::string &path, const std::string &what, const nlohmann::json &got);

    std::vector<std::string> take_errors() { return std::move(errors_); }

    // An integer in [low, high]. `word`: a word the caller also accepts
    // ("auto", "all"), named in the error.
    std::optional<long long> integer(const nlohmann::json &value, const std::string &path,
                                     long long low, long long high, const char *word = nullptr);

    std::optional<double> number(const nlohmann::json &value, const std::string &path, double low,
                                 double high);

    std::optional<std::string> non_empty_string(const nlohmann::json &value,
                                                const std::string &path, const std::string &what);

    // Reports keys of `object` that are not in `known`, under `prefix`.
    void unknown_keys(const nlohmann::json &object, const std::string &prefix,
                      std::initializer_list<const char *> known);

   private:
    std::string source_;
    std::vector<std::string> errors_;
};

}  // namespace adf::config
