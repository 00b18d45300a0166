// IP addresses as values: parsed, validated, canonical, ordered numerically.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace adf {

struct Address {
    int family = 4;  // 4 or 6, as in plugin.h's adf_family
    std::array<uint8_t, 16> bytes{};

    // Canonical text ("192.0.2.1", "2001:db8::1").
    std::string text() const;

    // Numeric order: IPv4 before IPv6, then by bytes (never as strings).
    friend bool operator<(const Address &a, const Address &b) {
        return a.family != b.family ? a.family < b.family : a.bytes < b.bytes;
    }
    friend bool operator==(const Address &a, const Address &b) {
        return a.family == b.family && a.bytes == b.bytes;
    }
    friend bool operator!=(const Address &a, const Address &b) { return !(a == b); }
};

// Parses `text` (surrounding white space ignored) as an address of `family`
// (4, 6, or 0 for either). Nothing when it is not one.
std::optional<Address> parse_address(std::string_view text, int family = 0);

// "A" or "AAAA".
const char *record_type(int family);

}  // namespace adf
