// The webhook signature: HMAC-SHA256 of the request body under the
// configured key (OpenSSL), sent as
//   X-Autodnsfailover-Signature: sha256=<64 lower-case hex digits>
// so that a receiver recomputes it over the bytes it got and compares.
#pragma once

#include <string>

namespace adf::notify {

constexpr const char *kSignatureHeader = "X-Autodnsfailover-Signature";

// "sha256=" followed by the hex HMAC-SHA256 of `body` under `key`.
std::string signature(const std::string &key, const std::string &body);

}  // namespace adf::notify
