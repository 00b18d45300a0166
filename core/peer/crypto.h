// The peer protocol's cryptography, all of it from OpenSSL's libcrypto:
// HMAC-SHA256 over a message, MACs compared in constant time, random nonces,
// and the pool key read from its base64 text.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <autodnsfailover/result.hpp>

namespace adf::peer {

constexpr size_t kMacBytes = 32;    // HMAC-SHA256
constexpr size_t kNonceBytes = 16;  // 128 random bits: never repeats by chance
// A pool key holds 32 to 64 random bytes: 256 bits at least, and no more
// than SHA-256's block (HMAC would hash a longer key down anyway).
constexpr size_t kMinKeyBytes = 32;
constexpr size_t kMaxKeyBytes = 64;

using Mac = std::array<uint8_t, kMacBytes>;
using Nonce = std::array<uint8_t, kNonceBytes>;

// The pool key: raw bytes, shared by every member of a pool. A type of its
// own so that a key is never passed where text is expected (and printed).
struct Key {
    std::string bytes;
};

// The key written as base64 (what `openssl rand -base64 32` prints; white
// space around it ignored). Refused: anything but strict base64, fewer than
// kMinKeyBytes or more than kMaxKeyBytes bytes, and bytes that are plainly
// not random (printable text only, or fewer than 16 distinct byte values:
// a password, "0000...", a key typed by hand). The reason never quotes the key.
Result<Key> decode_key(std::string_view base64);

// HMAC-SHA256 of `data` under `key`.
Mac mac_of(const Key &key, std::string_view data);

// True when the kMacBytes at `a` and `b` are equal; the time taken does not
// depend on where they differ (CRYPTO_memcmp), so a forger learns nothing
// from how fast a guess is refused.
bool same_mac(const uint8_t *a, const uint8_t *b);

// 16 bytes from OpenSSL's CSPRNG; throws std::runtime_error when it cannot
// give them (a host whose RNG fails must not send guessable nonces).
Nonce random_nonce();

}  // namespace adf::peer
