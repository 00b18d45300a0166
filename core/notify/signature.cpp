#include "notify/signature.h"

#include <cstdint>

#include "util/hmac.h"

namespace adf::notify {

std::string signature(const std::string &key, const std::string &body) {
    static const char kHex[] = "0123456789abcdef";
    std::string out = "sha256=";
    for (const uint8_t byte : hmac_sha256(key, body)) {
        out += kHex[byte >> 4];
        out += kHex[byte & 0x0f];
    }
    return out;
}

}  // namespace adf::notify
