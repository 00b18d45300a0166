#include "peer/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <bitset>
#include <cctype>
#include <stdexcept>

#include <fmt/format.h>

#include "util/hmac.h"

namespace adf::peer {
namespace {

// Below this many distinct byte values, 32 bytes are not random: a random
// 32-byte key has about 30 (the chance of fewer than 16 is below 1e-12).
constexpr size_t kMinDistinctBytes = 16;

bool is_base64_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/';
}

// How many '=' end `text`.
size_t padding_of(std::string_view text) {
    size_t padding = 0;
    while (padding < text.size() && text[text.size() - 1 - padding] == '=') ++padding;
    return padding;
}

// Strict base64 (RFC 4648 section 4, padded): OpenSSL's decoder skips
// white space and accepts odd padding, so the text is checked first.
bool is_strict_base64(std::string_view text) {
    if (text.empty() || text.size() % 4 != 0) return false;
    const size_t padding = padding_of(text);
    if (padding > 2) return false;
    return std::all_of(text.begin(), text.end() - static_cast<std::ptrdiff_t>(padding),
                       is_base64_char);
}

std::string_view trimmed(std::string_view text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

Result<Key> decode_key(std::string_view base64) {
    using Out = Result<Key>;
    const char *const advice = "(make one with `openssl rand -base64 32`)";
    const std::string_view text = trimmed(base64);
    if (!is_strict_base64(text))
        return Out::failure(fmt::format("the key is not base64 {}", advice));
    std::string bytes(text.size() / 4 * 3, '\0');
    const int length = EVP_DecodeBlock(reinterpret_cast<unsigned char *>(bytes.data()),
                                       reinterpret_cast<const unsigned char *>(text.data()),
                                       static_cast<int>(text.size()));
    if (length < 0) return Out::failure(fmt::format("the key is not base64 {}", advice));
    // EVP_DecodeBlock counts the padding as zero bytes; they are not key.
    bytes.resize(static_cast<size_t>(length) - padding_of(text));
    if (bytes.size() < kMinKeyBytes || bytes.size() > kMaxKeyBytes)
        return Out::failure(
            fmt::format("the key is {} bytes; a pool key is {} to {} random "
                        "bytes {}",
                        bytes.size(), kMinKeyBytes, kMaxKeyBytes, advice));
    const bool all_text = std::all_of(bytes.begin(), bytes.end(), [](char c) {
        return std::isprint(static_cast<unsigned char>(c)) != 0;
    });
    std::bitset<256> seen;
    for (char c : bytes) seen.set(static_cast<unsigned char>(c));
    if (all_text || seen.count() < kMinDistinctBytes)
        return Out::failure(fmt::format(
            "the key decodes to {}, not to random bytes {}",
            all_text ? "printable text (a password?)" : "too few distinct byte values", advice));
    return Key{std::move(bytes)};
}

Mac mac_of(const Key &key, std::string_view data) {
    static_assert(std::tuple_size<Sha256Mac>::value == kMacBytes);
    return hmac_sha256(key.bytes, data);
}

bool same_mac(const uint8_t *a, const uint8_t *b) { return CRYPTO_memcmp(a, b, kMacBytes) == 0; }

Nonce random_nonce() {
    Nonce nonce{};
    if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("the random number generator of libcrypto failed");
    return nonce;
}

}  // namespace adf::peer
