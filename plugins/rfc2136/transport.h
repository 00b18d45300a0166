// Carrying DNS messages to one server over UDP or TCP within a deadline.
// The messages themselves are built and parsed by libldns; this only moves
// bytes (with the two-byte length framing TCP needs, RFC 1035 4.2.2).
#ifndef RFC2136_TRANSPORT_H
#define RFC2136_TRANSPORT_H

#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace rfc2136 {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

// Largest DNS message UDP carries without EDNS (RFC 1035 4.2.1).
constexpr size_t kUdpMessageLimit = 512;

struct Endpoint {
    sockaddr_storage address{};
    socklen_t length = 0;
    std::string text;  // "192.0.2.53 port 53", for messages
};

// The endpoint for an IPv4 or IPv6 literal, or nothing when `address` is not one.
std::optional<Endpoint> make_endpoint(const std::string &address, uint16_t port);

// Is this datagram the answer we wait for (its ID and question match)?
using AnswerFilter = std::function<bool(const Bytes &)>;

// Sends `message` in one datagram and returns the first datagram `is_answer`
// accepts. Sends it again every `resend_every` seconds (0: never) until
// `deadline`. Throws adf::Error(ADF_TRANSIENT) on timeout or refusal.
Bytes udp_exchange(const Endpoint &server, const Bytes &message, const AnswerFilter &is_answer,
                   Clock::time_point deadline, double resend_every);

// Sends `message` over a new TCP connection and returns the first answer
// message. Throws adf::Error(ADF_TRANSIENT) on timeout, refusal or a
// connection closed before the answer.
Bytes tcp_exchange(const Endpoint &server, const Bytes &message, Clock::time_point deadline);

}  // namespace rfc2136

#endif  // RFC2136_TRANSPORT_H
