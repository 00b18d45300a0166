#include "dnsread/transport.h"

#include <autodnsfailover/dns_transport.hpp>

#include <chrono>
#include <cstring>

#include <fmt/format.h>

namespace adf::dnsread {
namespace {

using Failure = dns::Failure;

dns::Clock::time_point deadline_after(double timeout) {
    return dns::Clock::now() + std::chrono::duration_cast<dns::Clock::duration>(
                                   std::chrono::duration<double>(timeout));
}

SocketAddress socket_address_of(const Server &server) {
    return adf::socket_address(server.address.text(), server.port).value();
}

// Why there is no answer, in the words of a read: the caller names the
// server ("read over DNS from 192.0.2.1:53 failed: ..."), so these do not.
std::string reason(const Failure &failure, const Server &server, double timeout) {
    const char *error = std::strerror(failure.error);
    switch (failure.kind) {
        case Failure::kSocket:
            return fmt::format("cannot open a {} socket: {}", failure.protocol(), error);
        case Failure::kTimeout:
            if (failure.tcp && failure.step == Failure::kConnect)
                return fmt::format("cannot connect over TCP within {:g} s", timeout);
            return fmt::format("no answer within {:g} s", timeout);
        case Failure::kClosed:
            return "the server closed the TCP connection before answering";
        case Failure::kTooLarge:
            return failure.describe(server.text());
        case Failure::kRefused:
        case Failure::kSystem:
            break;
    }
    if (!failure.tcp) {
        if (failure.kind == Failure::kRefused)
            return fmt::format("nothing listens on UDP port {} (connection refused)", server.port);
        if (failure.step == Failure::kReceive) return fmt::format("UDP receive failed: {}", error);
        return fmt::format("cannot send over UDP: {}", error);
    }
    if (failure.step == Failure::kConnect) return fmt::format("cannot connect over TCP: {}", error);
    return fmt::format("TCP {} failed: {}", failure.step == Failure::kSend ? "send" : "receive",
                       error);
}

Exchange worded(dns::Exchange exchange, const Server &server, double timeout) {
    if (exchange.ok()) return Exchange{std::move(exchange.answer), {}};
    return Exchange{{}, reason(*exchange.failure, server, timeout)};
}

}  // namespace

Exchange exchange_udp(const Server &server, const std::vector<uint8_t> &query,
                      const AnswerMatcher &is_answer, double timeout) {
    // Sent once: a read that times out moves on to the next server.
    return worded(dns::udp_exchange(socket_address_of(server), query, deadline_after(timeout),
                                    /*resend_every=*/0, is_answer),
                  server, timeout);
}

Exchange exchange_tcp(const Server &server, const std::vector<uint8_t> &query, double timeout) {
    return worded(dns::tcp_exchange(socket_address_of(server), query, deadline_after(timeout)),
                  server, timeout);
}

}  // namespace adf::dnsread
