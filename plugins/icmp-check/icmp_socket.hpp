// One ICMP (IPv4) or ICMPv6 socket for echo requests: raw where the process
// may open one (CAP_NET_RAW), else an unprivileged datagram "ping" socket
// (net.ipv4.ping_group_range), else an error that says what is missing.
#ifndef ADF_ICMP_SOCKET_HPP
#define ADF_ICMP_SOCKET_HPP

#include <autodnsfailover/posix.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace icmp {

// An echo reply as it came off the wire, not yet matched to a request.
struct EchoReply {
    adf::SocketAddress source;
    uint16_t identifier = 0;
    uint16_t sequence = 0;
    std::vector<uint8_t> payload;
};

class EchoSocket {
   public:
    // Opens a socket of `family` (4 or 6); throws adf::Error naming the
    // missing privilege when neither kind of socket is allowed.
    explicit EchoSocket(int family);

    int fd() const { return fd_.get(); }
    bool raw() const { return raw_; }
    const char *kind() const { return raw_ ? "raw" : "datagram"; }
    // The identifier replies carry: `wanted` on a raw socket; on a datagram
    // socket the kernel's own (it rewrites the field and demultiplexes).
    uint16_t identifier(uint16_t wanted) const { return raw_ ? wanted : bound_identifier_; }

    // Sends one echo request; 0 or the errno of the failure.
    int send_echo(const adf::SocketAddress &target, uint16_t identifier, uint16_t sequence,
                  const std::vector<uint8_t> &payload) const;

    // Reads one queued packet without blocking. False when nothing is
    // queued; true with `is_reply` telling whether it was an echo reply.
    bool receive(EchoReply &reply, bool &is_reply) const;

   private:
    void open_datagram(int raw_error);
    void restrict_to_echo_replies() const;

    int family_;
    adf::UniqueFd fd_;
    bool raw_ = false;
    uint16_t bound_identifier_ = 0;
};

// The RFC 1071 internet checksum of `bytes`.
uint16_t internet_checksum(const uint8_t *bytes, size_t length);

// Why ICMP datagram sockets are refused: ping_group_range and our groups.
std::string ping_group_explanation();

}  // namespace icmp

#endif  // ADF_ICMP_SOCKET_HPP
