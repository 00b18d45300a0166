// Pieces shared by the JSON-over-HTTP dns plugins without a conditional
// write (cloudflare, powerdns): config helpers, the re-read-and-compare rule
// that stands in for a compare-and-swap, and JSON answers turned into
// errors that name the request. Header-only; powerdns includes it by path.
#ifndef AUTODNSFAILOVER_REST_DNS_HPP
#define AUTODNSFAILOVER_REST_DNS_HPP

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

namespace adf_rest_dns {

inline std::string lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

inline std::string without_trailing_dot(std::string name) {
    while (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

// A DNS name compared the way DNS does: case-insensitive, dot or no dot.
inline std::string comparable_name(const std::string &name) {
    return lower(without_trailing_dot(name));
}

// An http(s) base URL without its trailing slash.
inline std::string endpoint_setting(adf::Host &host, const char *path,
                                    const std::string &fallback) {
    const std::string url = host.string(path, fallback);
    if (!adf::http::is_http_url(url))
        host.config_error(path, "expected an http:// or https:// URL, got \"" + url + "\"");
    return adf::http::without_trailing_slash(url);
}

inline std::string describe(const std::string &fqdn, int family, const std::string &address) {
    return fqdn + " " + adf::record_type(family) + " " + address;
}

inline std::string join(const std::set<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : ", ") + item;
    return "[" + out + "]";
}

// The provider cannot refuse a write whose premise is stale, so the plugin
// re-reads just before writing and refuses (changing nothing) when the set
// differs from what the host read.
inline void require_unchanged(const std::string &fqdn, int family,
                              const std::vector<adf::Record> &expected,
                              const std::set<std::string> &current) {
    std::set<std::string> want;
    for (const auto &record : expected) want.insert(record.address);
    if (want != current)
        throw adf::Error(ADF_CONFLICT, std::string("the ") + adf::record_type(family) +
                                           " records of " + fqdn +
                                           " changed since they were read: expected " +
                                           join(want) + ", found " + join(current) +
                                           "; nothing was changed");
}

// The host never asks to remove the last record; a direct caller (probe)
// might, and an empty pool answers nobody.
inline void refuse_emptying(const std::string &fqdn, int family, const std::string &address,
                            const std::set<std::string> &current) {
    if (current.size() == 1 && current.count(address) == 1)
        throw adf::Error(ADF_FAILED, "refusing to remove " + describe(fqdn, family, address) +
                                         ": it is the last record of the name, and a pool is "
                                         "never emptied");
}

// The JSON body of an answer, or ADF_FAILED naming the request.
inline nlohmann::json parse_json(const adf::http::Response &response, const std::string &request) {
    nlohmann::json body = nlohmann::json::parse(response.body, nullptr, false);
    if (body.is_discarded())
        throw adf::Error(ADF_FAILED, request + ": expected JSON, got " +
                                         adf::http::excerpt(response.body, 120));
    return body;
}

// A string member of a JSON object, or `fallback` when missing or not a string.
inline std::string string_member(const nlohmann::json &object, const char *name,
                                 const std::string &fallback = "") {
    if (!object.is_object()) return fallback;
    const auto it = object.find(name);
    return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

}  // namespace adf_rest_dns

#endif  // AUTODNSFAILOVER_REST_DNS_HPP
