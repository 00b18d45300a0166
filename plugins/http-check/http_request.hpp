// One HTTP(S) request to a peer with libcurl, judged against the settings.
#pragma once

#include <optional>
#include <string>

#include "http_config.hpp"

namespace http_check {

// Initialises libcurl once per process. Called at create(), in the daemon:
// every check runs in a fresh fork, so initialising there instead would
// pay for it (TLS library set-up included) in every single check.
void ensure_curl_initialised();

// Sends the configured request to the peer at `address` (family 4 or 6)
// within `timeout` seconds. Returns why the peer is dead, or nothing when it
// is alive. Throws adf::Error when libcurl itself cannot be set up.
std::optional<std::string> probe_peer(const HttpCheckConfig &config, const std::string &address,
                                      int family, double timeout);

}  // namespace http_check
