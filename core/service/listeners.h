// Listening sockets, opened on the loop thread at start and reload (so that
// an address in use or a missing directory is reported like any config
// error, and a refused reload keeps the running listeners), then handed to
// the service thread. Non-blocking and close-on-exec.
#pragma once

#include <string>

#include <autodnsfailover/posix.hpp>
#include <autodnsfailover/result.hpp>

#include "dnsread/server.h"

namespace adf::service {

// A TCP listener on `where` ("127.0.0.1:9468"; IPv6 only for an IPv6 address).
adf::Result<UniqueFd> listen_tcp(const dnsread::Server &where);

// A Unix stream listener at `path`, mode 0660 (the daemon's user and group:
// file permissions are the access control). A stale socket file left by a
// daemon that died is replaced; one a live daemon answers on is an error.
adf::Result<UniqueFd> listen_unix(const std::string &path);

// Connects to the Unix socket at `path`, sends `request` and a newline, and
// reads the answer until the server closes (at most `max_bytes`, within
// `timeout` seconds).
adf::Result<std::string> ask_unix(const std::string &path, const std::string &request,
                                  double timeout, size_t max_bytes = 16 << 20);

}  // namespace adf::service
