// The http-check plugin's settings, read and validated from its config
// section (every key is asked for, so the host rejects unknown ones).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <autodnsfailover/plugin.hpp>

namespace http_check {

struct HttpCheckConfig {
    std::string method = "GET";
    std::string path = "/";
    std::optional<std::string> body;
    // In config order; a "Host" header (any case) is among them.
    std::vector<std::pair<std::string, std::string>> headers;
    // The host part of the Host header ("www.example.com", "[2001:db8::1]"):
    // the URL carries it so that SNI and certificate checks follow it.
    std::optional<std::string> virtual_host;
    bool https = false;
    long port = 80;
    bool verify_tls = true;
    std::optional<std::string> ca_file;
    std::vector<long> valid_status{200, 302};
    std::optional<std::string> expect_body;
    std::size_t expect_body_bytes = 5120;
    bool follow_redirects = false;
    std::string user_agent;
};

// Reads every key; problems are recorded through the host (which names the
// full JSON path) and show in host.config_failed().
HttpCheckConfig read_config(adf::Host &host, const std::string &default_user_agent);

}  // namespace http_check
