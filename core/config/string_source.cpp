#include "config/string_source.h"

#include <climits>
#include <cstdlib>

#include <autodnsfailover/json.hpp>
#include <autodnsfailover/posix.hpp>
#include <fmt/format.h>

namespace adf::config {

using json = nlohmann::json;

Result<std::string> resolve_string(const json &value) {
    using Out = Result<std::string>;
    if (value.is_string()) return value.get<std::string>();
    const auto source_of = [&](const char *key) -> const json * {
        if (!value.is_object() || value.size() != 1) return nullptr;
        auto found = value.find(key);
        return found != value.end() && found->is_string() ? &*found : nullptr;
    };
    if (const json *name = source_of("env")) {
        const std::string variable = name->get<std::string>();
        const char *content = std::getenv(variable.c_str());
        if (content == nullptr)
            return Out::failure(fmt::format("environment variable {} is not set", variable));
        return std::string(content);
    }
    if (const json *file = source_of("file")) {
        Out read = read_regular_file(file->get<std::string>(), kMaxSecretFileBytes);
        // The whole path (no file has a longer one), so the message names the file.
        if (!read)
            return Out::failure(fmt::format("{{\"file\": {}}}: {}",
                                            adf::json::shown(*file, PATH_MAX), read.reason()));
        std::string content = std::move(*read);
        if (!content.empty() && content.back() == '\n') content.pop_back();
        if (!content.empty() && content.back() == '\r') content.pop_back();
        return content;
    }
    return Out::failure(
        fmt::format("expected a string, {{\"env\": NAME}} or {{\"file\": PATH}}, "
                    "got {}",
                    adf::json::shown(value)));
}

}  // namespace adf::config
