#include "http_config.hpp"

#include <arpa/inet.h>
#include <strings.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

namespace http_check {
namespace {

constexpr std::size_t max_expect_body_bytes = 1024 * 1024;

// RFC 9110 token: methods and header names.
bool is_token(const std::string &text) {
    if (text.empty()) return false;
    for (unsigned char c : text) {
        if (std::isalnum(c) != 0) continue;
        if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == '\0') return false;
    }
    return true;
}

bool has_control_or_space(const std::string &text) {
    for (unsigned char c : text)
        if (c <= 0x20 || c == 0x7f) return true;
    return false;
}

bool has_line_break(const std::string &text) {
    return text.find_first_of(std::string("\r\n\0", 3)) != std::string::npos;
}

// A JSON Pointer token for a member name (RFC 6901: "~" -> "~0", "/" -> "~1").
std::string pointer_token(const std::string &name) {
    std::string out;
    for (char c : name) {
        if (c == '~')
            out += "~0";
        else if (c == '/')
            out += "~1";
        else
            out += c;
    }
    return out;
}

bool is_reg_name(const std::string &name) {
    if (name.empty()) return false;
    for (unsigned char c : name)
        if (std::isalnum(c) == 0 && c != '-' && c != '.' && c != '_') return false;
    return true;
}

bool is_port(const std::string &digits) {
    if (digits.empty() || digits.size() > 5) return false;
    for (unsigned char c : digits)
        if (std::isdigit(c) == 0) return false;
    const long port = std::stol(digits);
    return port >= 1 && port <= 65535;
}

// The host part of a Host header value ("name", "name:port", "[v6]",
// "[v6]:port"), or nothing when the value is not a valid URL host.
std::optional<std::string> host_part(const std::string &value) {
    if (!value.empty() && value.front() == '[') {
        const auto close = value.find(']');
        if (close == std::string::npos) return std::nullopt;
        const std::string inner = value.substr(1, close - 1);
        unsigned char bytes[16];
        if (inet_pton(AF_INET6, inner.c_str(), bytes) != 1) return std::nullopt;
        const std::string rest = value.substr(close + 1);
        if (!rest.empty() && (rest.front() != ':' || !is_port(rest.substr(1)))) return std::nullopt;
        return value.substr(0, close + 1);
    }
    const auto colon = value.find(':');
    const std::string name = value.substr(0, colon);
    if (!is_reg_name(name)) return std::nullopt;
    if (colon != std::string::npos && !is_port(value.substr(colon + 1))) return std::nullopt;
    return name;
}

void read_method(adf::Host &host, HttpCheckConfig &config) {
    config.method = host.string("/method", config.method);
    // Methods are case-sensitive on the wire, but "head" surely means HEAD.
    for (char &c : config.method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    if (!is_token(config.method))
        host.config_error("/method", "\"" + config.method +
                                         "\" is not an HTTP method (a token such as GET, HEAD, POST)");
}

void read_path(adf::Host &host, HttpCheckConfig &config) {
    config.path = host.string("/path", config.path);
    if (config.path.empty() || config.path.front() != '/')
        host.config_error("/path", "\"" + config.path + "\" must start with \"/\"");
    else if (has_control_or_space(config.path))
        host.config_error("/path", "\"" + config.path +
                                       "\" must not contain spaces or control characters "
                                       "(percent-encode them)");
}

void read_headers(adf::Host &host, HttpCheckConfig &config) {
    const auto json = host.json("/headers");
    if (!json) return;
    if (json->empty() || json->front() != '{') {
        host.config_error("/headers", "expected an object of header name -> string value");
        return;
    }
    for (const std::string &name : host.members("/headers")) {
        const std::string path = "/headers/" + pointer_token(name);
        const auto value = host.string(path.c_str());
        if (!value) continue;  // the host recorded the type error
        if (!is_token(name)) {
            host.config_error(path.c_str(), "\"" + name + "\" is not a valid header name");
            continue;
        }
        if (has_line_break(*value)) {
            host.config_error(path.c_str(), "a header value must not contain line breaks");
            continue;
        }
        if (strcasecmp(name.c_str(), "Host") == 0) {
            config.virtual_host = host_part(*value);
            if (!config.virtual_host)
                host.config_error(path.c_str(),
                                  "\"" + *value +
                                      "\" is not a host name, [IPv6 address] or either with :port");
        }
        config.headers.emplace_back(name, *value);
    }
}

void read_tls(adf::Host &host, HttpCheckConfig &config) {
    config.https = host.boolean("/https", config.https);
    config.port = host.integer("/port", config.https ? 443 : 80, 1, 65535);
    config.verify_tls = host.boolean("/verify_tls", config.verify_tls);
    config.ca_file = host.string("/ca_file");
    if (!config.ca_file) return;
    if (access(config.ca_file->c_str(), R_OK) != 0) {
        host.config_error("/ca_file",
                          "cannot read \"" + *config.ca_file + "\": " + std::strerror(errno));
        return;
    }
    if (!config.verify_tls)
        host.warning("check.ca_file is set but check.verify_tls is false: the certificate is "
                     "not verified at all");
}

void read_valid_status(adf::Host &host, HttpCheckConfig &config) {
    const auto json = host.json("/valid_status");
    if (!json) return;
    const char *message = "expected a non-empty list of integers from 100 to 599";
    if (json->empty() || json->front() != '[') {
        host.config_error("/valid_status", message);
        return;
    }
    const std::size_t count = host.count("/valid_status");
    if (count == 0) {
        host.config_error("/valid_status", message);
        return;
    }
    config.valid_status.clear();
    for (std::size_t i = 0; i < count; ++i) {
        const std::string path = "/valid_status/" + std::to_string(i);
        config.valid_status.push_back(static_cast<long>(host.integer(path.c_str(), 0, 100, 599)));
    }
}

void read_expect_body(adf::Host &host, HttpCheckConfig &config) {
    config.expect_body = host.string("/expect_body");
    config.expect_body_bytes = static_cast<std::size_t>(host.integer(
        "/expect_body_bytes", static_cast<int64_t>(config.expect_body_bytes), 1,
        static_cast<int64_t>(max_expect_body_bytes)));
    if (!config.expect_body) return;
    if (config.expect_body->empty())
        host.config_error("/expect_body", "must not be empty (leave it out to accept any body)");
    else if (config.expect_body->size() > config.expect_body_bytes)
        host.config_error("/expect_body",
                          "is " + std::to_string(config.expect_body->size()) +
                              " bytes long, more than check.expect_body_bytes (" +
                              std::to_string(config.expect_body_bytes) + "): it could never match");
    else if (config.method == "HEAD")
        host.config_error("/expect_body", "cannot be checked with method HEAD (no body comes back)");
}

}  // namespace

HttpCheckConfig read_config(adf::Host &host, const std::string &default_user_agent) {
    HttpCheckConfig config;
    read_method(host, config);
    read_path(host, config);
    config.body = host.string("/body");
    if (config.body && config.method == "HEAD")
        host.config_error("/body", "cannot be sent with method HEAD");
    read_headers(host, config);
    read_tls(host, config);
    read_valid_status(host, config);
    read_expect_body(host, config);
    config.follow_redirects = host.boolean("/follow_redirects", config.follow_redirects);
    config.user_agent = host.string("/user_agent", default_user_agent);
    if (has_line_break(config.user_agent))
        host.config_error("/user_agent", "must not contain line breaks");
    return config;
}

}  // namespace http_check
