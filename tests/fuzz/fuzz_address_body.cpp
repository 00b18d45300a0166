// The body of an address service (web-ip) or of instance metadata
// (ec2-metadata): what adf::canonical_address (plugin.hpp) makes of any
// bytes, and the excerpt that quotes them in messages.
// Invariants: an accepted body is an address literal of the family, with
// nothing but white space around it; its canonical form is stable; the
// excerpt is bounded and printable.
#include <arpa/inet.h>

#include <string>

#include "addresses.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::string body(reinterpret_cast<const char *>(data) + (size ? 1 : 0),
                           size ? size - 1 : 0);
    if (const auto address = adf::canonical_address(body, family)) {
        require_canonical(*address, family);
        const auto first = body.find_first_not_of(" \t\r\n");
        const auto last = body.find_last_not_of(" \t\r\n");
        const std::string core = body.substr(first, last - first + 1);
        unsigned char bytes[16];
        FUZZ_REQUIRE(inet_pton(family == 6 ? AF_INET6 : AF_INET, core.c_str(), bytes) == 1 &&
                         core.find('\0') == std::string::npos,
                     "accepted a body that is not one address literal");
    }
    const std::string quoted = adf::excerpt(body, 60);
    FUZZ_REQUIRE(quoted.size() <= 60 * 4 + 8, "an unbounded excerpt");
    for (const unsigned char c : quoted)
        FUZZ_REQUIRE(c >= 0x20 && c < 0x7f, "an excerpt with an unprintable byte");
    return 0;
}
