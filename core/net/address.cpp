#include "net/address.h"

#include <arpa/inet.h>

namespace adf {

std::string Address::text() const {
    char buffer[INET6_ADDRSTRLEN];
    const int af = family == 6 ? AF_INET6 : AF_INET;
    if (inet_ntop(af, bytes.data(), buffer, sizeof buffer) == nullptr) return {};
    return buffer;
}

std::optional<Address> parse_address(std::string_view text, int family) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos) return std::nullopt;
    const auto last = text.find_last_not_of(" \t\r\n");
    const std::string_view core = text.substr(first, last - first + 1);
    // inet_pton() reads up to a NUL: "127.0.0.1\0junk" must not pass as
    // 127.0.0.1. No address is longer than INET6_ADDRSTRLEN either.
    if (core.size() >= INET6_ADDRSTRLEN || core.find('\0') != std::string_view::npos)
        return std::nullopt;
    const std::string trimmed(core);
    Address a;
    if (family != 6 && inet_pton(AF_INET, trimmed.c_str(), a.bytes.data()) == 1) {
        a.family = 4;
        return a;
    }
    if (family != 4 && inet_pton(AF_INET6, trimmed.c_str(), a.bytes.data()) == 1) {
        a.family = 6;
        return a;
    }
    return std::nullopt;
}

const char *record_type(int family) { return family == 6 ? "AAAA" : "A"; }

}  // namespace adf
