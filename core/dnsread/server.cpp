#include "dnsread/server.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

namespace adf::dnsread {
namespace {

std::optional<Server> fail(std::string *why, std::string reason) {
    if (why) *why = std::move(reason);
    return std::nullopt;
}

std::optional<uint16_t> parse_port(std::string_view text, std::string *why) {
    const bool digits = !text.empty() && text.size() <= 5 &&
                        std::all_of(text.begin(), text.end(),
                                    [](unsigned char c) { return std::isdigit(c); });
    const long port = digits ? std::stol(std::string(text)) : -1;
    if (port < 1 || port > 65535) {
        if (why) *why = fmt::format("port \"{}\" is not a number from 1 to 65535", text);
        return std::nullopt;
    }
    return static_cast<uint16_t>(port);
}

}  // namespace

std::string Server::text() const {
    return address.family == 6 ? fmt::format("[{}]:{}", address.text(), port)
                               : fmt::format("{}:{}", address.text(), port);
}

std::optional<Server> parse_server(std::string_view spec, std::string *why) {
    std::string_view host = spec;
    std::string_view port;
    int family = 0;
    if (!spec.empty() && spec.front() == '[') {
        // "[v6]" or "[v6]:port": the brackets keep the port apart from the address.
        const size_t close = spec.find(']');
        if (close == std::string_view::npos)
            return fail(why, "the '[' of an IPv6 address has no closing ']'");
        host = spec.substr(1, close - 1);
        const std::string_view rest = spec.substr(close + 1);
        if (!rest.empty() && rest.front() != ':')
            return fail(why, "only \":PORT\" may follow the ']' of an IPv6 address");
        if (!rest.empty()) {
            port = rest.substr(1);
            if (port.empty()) return fail(why, "the port after ':' is missing");
        }
        family = 6;
    } else if (std::count(spec.begin(), spec.end(), ':') == 1) {
        // One colon: IPv4 with a port. More: a bare IPv6 address.
        const size_t colon = spec.find(':');
        host = spec.substr(0, colon);
        port = spec.substr(colon + 1);
        if (port.empty()) return fail(why, "the port after ':' is missing");
        family = 4;
    }
    Server server;
    const auto address = parse_address(host, family);
    if (!address || host.find_first_of(" \t\r\n") != std::string_view::npos)
        return fail(why, family == 6 ? "the part in brackets is not an IPv6 address"
                                     : "not an IP address (host names are not resolved)");
    server.address = *address;
    if (!port.empty()) {
        const auto number = parse_port(port, why);
        if (!number) return std::nullopt;
        server.port = *number;
    }
    return server;
}

}  // namespace adf::dnsread
