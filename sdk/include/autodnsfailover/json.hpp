// Optional C++17 helper for plugins that read a provider's JSON with
// nlohmann::json (Debian: nlohmann-json3-dev; header-only, link
// nlohmann_json::nlohmann_json). Not part of the ABI.
//
// Providers leave members out, write null, or change a member's type
// between API versions; reading through this never throws on that.
#ifndef AUTODNSFAILOVER_JSON_HPP
#define AUTODNSFAILOVER_JSON_HPP

#include <nlohmann/json.hpp>

#include <string>

namespace adf::json {

// Member `name` of `object` when it is a string, else `fallback` (also when
// `object` is not an object at all).
inline std::string string_member(const nlohmann::json &object, const char *name,
                                 const std::string &fallback = "") {
    if (!object.is_object()) return fallback;
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace adf::json

#endif  // AUTODNSFAILOVER_JSON_HPP
