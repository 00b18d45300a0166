// HMAC-SHA256 (libcrypto), for everything the daemon signs: the webhook
// signature (notify/) and the messages between the daemons of a pool (peer/).
#pragma once

#include <array>
#include <cstdint>
#include <string_view>

namespace adf {

using Sha256Mac = std::array<uint8_t, 32>;

// The MAC of `data` under `key`. Throws std::runtime_error if libcrypto fails.
Sha256Mac hmac_sha256(std::string_view key, std::string_view data);

}  // namespace adf
