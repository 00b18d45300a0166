#include "icmp_socket.hpp"

#include <autodnsfailover/plugin.hpp>

#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace icmp {
namespace {

constexpr uint8_t kEchoRequest4 = 8, kEchoReply4 = 0;
constexpr uint8_t kEchoRequest6 = 128, kEchoReply6 = 129;
constexpr size_t kHeaderSize = 8;  // type, code, checksum, identifier, sequence

const char *protocol_name(int family) { return family == 6 ? "ICMPv6" : "ICMP"; }
int domain_of(int family) { return family == 6 ? AF_INET6 : AF_INET; }
int protocol_of(int family) {
    return family == 6 ? static_cast<int>(IPPROTO_ICMPV6) : static_cast<int>(IPPROTO_ICMP);
}

uint16_t read_u16(const uint8_t *p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

void write_u16(uint8_t *p, uint16_t value) {
    p[0] = static_cast<uint8_t>(value >> 8);
    p[1] = static_cast<uint8_t>(value & 0xff);
}

}  // namespace

uint16_t internet_checksum(const uint8_t *bytes, size_t length) {
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < length; i += 2) sum += read_u16(bytes + i);
    if (length % 2 != 0) sum += static_cast<uint32_t>(bytes[length - 1]) << 8;
    while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
    return static_cast<uint16_t>(~sum & 0xffff);
}

std::string ping_group_explanation() {
    std::string range = "unreadable";
    std::ifstream file("/proc/sys/net/ipv4/ping_group_range");
    if (file) {
        std::string low, high;
        file >> low >> high;
        range = "\"" + low + " " + high + "\"";
    }
    std::string groups = std::to_string(getegid());
    gid_t supplementary[256];
    const int n = getgroups(256, supplementary);
    for (int i = 0; i < n; ++i)
        if (supplementary[i] != getegid()) groups += ", " + std::to_string(supplementary[i]);
    return "net.ipv4.ping_group_range is " + range + ", which does not include this process's group" +
           (n > 1 ? "s " : " ") + groups;
}

EchoSocket::EchoSocket(int family) : family_(family) {
    fd_.reset(
        socket(domain_of(family), SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol_of(family)));
    if (fd_) {
        raw_ = true;
        restrict_to_echo_replies();
        return;
    }
    const int raw_error = errno;
    if (raw_error == EAFNOSUPPORT)
        throw adf::Error(ADF_FAILED, std::string("cannot open an ") + protocol_name(family) +
                                         " socket: IPv" + std::to_string(family) +
                                         " is not available on this host");
    if (raw_error != EPERM && raw_error != EACCES)
        throw adf::Error(ADF_FAILED, std::string("cannot open a raw ") + protocol_name(family) +
                                         " socket: " + std::strerror(raw_error));
    open_datagram(raw_error);
}

void EchoSocket::open_datagram(int raw_error) {
    fd_.reset(
        socket(domain_of(family_), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol_of(family_)));
    if (!fd_) {
        const int error = errno;
        std::string message = std::string("cannot open an ") + protocol_name(family_) +
                              " socket: a raw socket needs CAP_NET_RAW (" +
                              std::strerror(raw_error) + "), and an unprivileged datagram socket ";
        if (error == EACCES)
            message += "is refused because " + ping_group_explanation();
        else
            message += std::string("failed: ") + std::strerror(error);
        throw adf::Error(ADF_FAILED, message + "; grant the daemon CAP_NET_RAW or widen "
                                               "net.ipv4.ping_group_range to include its group");
    }
    // Binding to port 0 makes the kernel pick a free identifier, which we
    // need to know to recognise the replies.
    adf::SocketAddress local = *adf::socket_address(family_ == 6 ? "::" : "0.0.0.0", 0);
    if (bind(fd_.get(), local.get(), local.length) != 0 ||
        getsockname(fd_.get(), local.get(), &local.length) != 0)
        throw adf::Error(ADF_FAILED, std::string("cannot bind the ") + protocol_name(family_) +
                                         " datagram socket: " + std::strerror(errno));
    bound_identifier_ = local.port();
}

// A raw socket sees every ICMP packet of the host: let the kernel drop all
// but echo replies before they reach us.
void EchoSocket::restrict_to_echo_replies() const {
    int status;
    if (family_ == 6) {
        icmp6_filter filter;
        ICMP6_FILTER_SETBLOCKALL(&filter);
        ICMP6_FILTER_SETPASS(kEchoReply6, &filter);
        status = setsockopt(fd_.get(), IPPROTO_ICMPV6, ICMP6_FILTER, &filter, sizeof filter);
    } else {
        icmp_filter filter{};
        filter.data = ~(1u << kEchoReply4);
        status = setsockopt(fd_.get(), SOL_RAW, ICMP_FILTER, &filter, sizeof filter);
    }
    if (status != 0)
        throw adf::Error(ADF_FAILED, std::string("cannot set the ") + protocol_name(family_) +
                                         " filter on the raw socket: " + std::strerror(errno));
}

int EchoSocket::send_echo(const adf::SocketAddress &target, uint16_t identifier, uint16_t sequence,
                          const std::vector<uint8_t> &payload) const {
    std::vector<uint8_t> packet(kHeaderSize + payload.size());
    packet[0] = family_ == 6 ? kEchoRequest6 : kEchoRequest4;
    write_u16(&packet[4], identifier);
    write_u16(&packet[6], sequence);
    std::copy(payload.begin(), payload.end(), packet.begin() + kHeaderSize);
    // The kernel fills the checksum for ICMPv6 and for datagram sockets.
    if (family_ == 4 && raw_) write_u16(&packet[2], internet_checksum(packet.data(), packet.size()));
    for (;;) {
        const ssize_t sent =
            sendto(fd_.get(), packet.data(), packet.size(), 0, target.get(), target.length);
        if (sent == static_cast<ssize_t>(packet.size())) return 0;
        if (sent >= 0) return EMSGSIZE;
        if (errno != EINTR) return errno;
    }
}

bool EchoSocket::receive(EchoReply &reply, bool &is_reply) const {
    uint8_t buffer[2048];
    ssize_t size;
    do {
        reply.source.length = sizeof reply.source.storage;
        size = recvfrom(fd_.get(), buffer, sizeof buffer, 0, reply.source.get(),
                        &reply.source.length);
    } while (size < 0 && errno == EINTR);
    if (size < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
        throw adf::Error(ADF_FAILED, std::string("cannot receive on the ") +
                                         protocol_name(family_) + " socket: " + std::strerror(errno));
    }
    const uint8_t *message = buffer;
    size_t remaining = static_cast<size_t>(size);
    // Raw IPv4 sockets hand us the IP header too: skip it (IHL words).
    if (family_ == 4 && raw_) {
        const size_t header = remaining > 0 ? static_cast<size_t>(buffer[0] & 0x0f) * 4 : 0;
        if (remaining < 20 || (buffer[0] >> 4) != 4 || header < 20 || header > remaining) {
            is_reply = false;
            return true;
        }
        message += header;
        remaining -= header;
    }
    is_reply = remaining >= kHeaderSize && message[0] == (family_ == 6 ? kEchoReply6 : kEchoReply4) &&
               message[1] == 0;
    if (is_reply) {
        reply.identifier = read_u16(message + 4);
        reply.sequence = read_u16(message + 6);
        reply.payload.assign(message + kHeaderSize, message + remaining);
    }
    return true;
}

}  // namespace icmp
