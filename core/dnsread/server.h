// An authoritative DNS server to read records from: an IP address and a
// port, written "192.0.2.1", "192.0.2.1:5353", "2001:db8::1" or
// "[2001:db8::1]:5353" (the port defaults to 53).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "net/address.h"

namespace adf::dnsread {

struct Server {
    Address address;
    uint16_t port = 53;

    // "192.0.2.1:53", "[2001:db8::1]:5353": always with the port, so a log
    // line names exactly where a query went.
    std::string text() const;

    friend bool operator==(const Server &a, const Server &b) {
        return a.address == b.address && a.port == b.port;
    }
};

// Parses a server spec; on failure returns nothing and, when `why` is given,
// stores what is wrong with it ("port 70000 is out of range 1 to 65535").
std::optional<Server> parse_server(std::string_view spec, std::string *why = nullptr);

}  // namespace adf::dnsread
