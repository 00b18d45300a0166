#include "util/hmac.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

namespace adf {

Sha256Mac hmac_sha256(std::string_view key, std::string_view data) {
    Sha256Mac mac{};
    unsigned int length = 0;
    if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
             reinterpret_cast<const unsigned char *>(data.data()), data.size(), mac.data(),
             &length) == nullptr ||
        length != mac.size())
        throw std::runtime_error("HMAC-SHA256 failed in libcrypto");
    return mac;
}

}  // namespace adf
