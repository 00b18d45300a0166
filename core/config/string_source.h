// A config string that may be written inline, as {"env": "NAME"} (the value
// of an environment variable) or as {"file": "PATH"} (a file's content less
// its trailing newline), so that secrets never need to sit in the config
// file. Plugins get it through config_string (plugin/host.cpp); the core's
// own secrets (the peers' pool key) through the same function.
#pragma once

#include <cstddef>
#include <string>

#include <autodnsfailover/result.hpp>
#include <nlohmann/json.hpp>

namespace adf::config {

// The largest file a {"file": PATH} string is read from: secrets (API keys,
// TSIG keys, even a PEM bundle) are far smaller, and a bigger file (or
// /dev/zero, refused anyway as a device) is a mistake.
constexpr size_t kMaxSecretFileBytes = 64 * 1024;

// The string `value` stands for. The reason of a failure never holds the
// resolved value (it may be a secret), only where it was looked for:
// "environment variable NAME is not set", "{"file": "/x"}: No such file or
// directory", "expected a string, {"env": NAME} or {"file": PATH}, got 3".
Result<std::string> resolve_string(const nlohmann::json &value);

}  // namespace adf::config
