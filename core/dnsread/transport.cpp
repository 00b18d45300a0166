#include "dnsread/transport.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "util/clock.h"

namespace adf::dnsread {
namespace {

constexpr size_t kMaxMessage = 65535;

class Socket {
   public:
    explicit Socket(int fd) : fd_(fd) {}
    ~Socket() {
        if (fd_ >= 0) ::close(fd_);
    }
    Socket(const Socket &) = delete;
    Socket &operator=(const Socket &) = delete;
    int fd() const { return fd_; }

   private:
    int fd_;
};

struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = 0;
    int family() const { return storage.ss_family; }
    const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&storage); }
};

SocketAddress socket_address(const Server &server) {
    SocketAddress out;
    if (server.address.family == 6) {
        auto *in6 = reinterpret_cast<sockaddr_in6 *>(&out.storage);
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(server.port);
        std::memcpy(&in6->sin6_addr, server.address.bytes.data(), 16);
        out.length = sizeof(sockaddr_in6);
    } else {
        auto *in4 = reinterpret_cast<sockaddr_in *>(&out.storage);
        in4->sin_family = AF_INET;
        in4->sin_port = htons(server.port);
        std::memcpy(&in4->sin_addr, server.address.bytes.data(), 4);
        out.length = sizeof(sockaddr_in);
    }
    return out;
}

Exchange failure(std::string why) { return Exchange{{}, std::move(why)}; }

std::string timed_out(double timeout) { return fmt::format("no answer within {:g} s", timeout); }

// Waits until `fd` is ready for `events` or `deadline` (monotonic) passes.
// False on timeout; errors of the socket itself surface in the next call.
bool wait_for(int fd, short events, double deadline) {
    for (;;) {
        const double left = deadline - monotonic_now();
        if (left <= 0) return false;
        pollfd p{fd, events, 0};
        const int ready = ::poll(&p, 1, static_cast<int>(std::ceil(left * 1000)));
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) return true;  // let the I/O call report it
    }
}

// Reads or writes exactly `size` bytes on a non-blocking stream socket.
// Empty on success, else why not.
std::string transfer(int fd, uint8_t *data, size_t size, bool sending, double deadline,
                     double timeout) {
    size_t done = 0;
    while (done < size) {
        if (!wait_for(fd, sending ? POLLOUT : POLLIN, deadline)) return timed_out(timeout);
        const ssize_t n = sending ? ::send(fd, data + done, size - done, MSG_NOSIGNAL)
                                  : ::recv(fd, data + done, size - done, 0);
        if (n > 0) {
            done += size_t(n);
            continue;
        }
        if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
        if (n == 0) return "the server closed the TCP connection before answering";
        return fmt::format("TCP {} failed: {}", sending ? "send" : "receive",
                           std::strerror(errno));
    }
    return {};
}

std::string connect_tcp(int fd, const SocketAddress &to, double deadline, double timeout) {
    if (::connect(fd, to.get(), to.length) == 0) return {};
    if (errno != EINPROGRESS && errno != EINTR)
        return fmt::format("cannot connect over TCP: {}", std::strerror(errno));
    if (!wait_for(fd, POLLOUT, deadline))
        return fmt::format("cannot connect over TCP within {:g} s", timeout);
    int error = 0;
    socklen_t length = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) error = errno;
    if (error != 0) return fmt::format("cannot connect over TCP: {}", std::strerror(error));
    return {};
}

}  // namespace

Exchange exchange_udp(const Server &server, const std::vector<uint8_t> &query,
                      const AnswerMatcher &is_answer, double timeout) {
    const double deadline = monotonic_now() + timeout;
    const SocketAddress to = socket_address(server);
    Socket socket(::socket(to.family(), SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (socket.fd() < 0) return failure(fmt::format("cannot open a UDP socket: {}",
                                                    std::strerror(errno)));
    // Connected: only this server's datagrams arrive, and an ICMP "port
    // unreachable" ends the wait at once instead of at the timeout.
    if (::connect(socket.fd(), to.get(), to.length) != 0 ||
        ::send(socket.fd(), query.data(), query.size(), 0) < 0)
        return failure(fmt::format("cannot send over UDP: {}", std::strerror(errno)));
    std::vector<uint8_t> buffer(kMaxMessage);
    for (;;) {
        if (!wait_for(socket.fd(), POLLIN, deadline)) return failure(timed_out(timeout));
        const ssize_t n = ::recv(socket.fd(), buffer.data(), buffer.size(), 0);
        if (n < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
            if (errno == ECONNREFUSED)
                return failure(fmt::format("nothing listens on UDP port {} (connection refused)",
                                           server.port));
            return failure(fmt::format("UDP receive failed: {}", std::strerror(errno)));
        }
        std::vector<uint8_t> answer(buffer.begin(), buffer.begin() + n);
        if (is_answer(answer)) return Exchange{std::move(answer), {}};
    }
}

Exchange exchange_tcp(const Server &server, const std::vector<uint8_t> &query, double timeout) {
    const double deadline = monotonic_now() + timeout;
    const SocketAddress to = socket_address(server);
    Socket socket(::socket(to.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (socket.fd() < 0) return failure(fmt::format("cannot open a TCP socket: {}",
                                                    std::strerror(errno)));
    if (auto why = connect_tcp(socket.fd(), to, deadline, timeout); !why.empty())
        return failure(why);
    // RFC 1035 4.2.2: a two-byte length, then the message.
    std::vector<uint8_t> framed{uint8_t(query.size() >> 8), uint8_t(query.size() & 0xff)};
    framed.insert(framed.end(), query.begin(), query.end());
    if (auto why = transfer(socket.fd(), framed.data(), framed.size(), true, deadline, timeout);
        !why.empty())
        return failure(why);
    uint8_t length[2];
    if (auto why = transfer(socket.fd(), length, 2, false, deadline, timeout); !why.empty())
        return failure(why);
    std::vector<uint8_t> answer(size_t(length[0]) << 8 | length[1]);
    if (auto why = transfer(socket.fd(), answer.data(), answer.size(), false, deadline, timeout);
        !why.empty())
        return failure(why);
    return Exchange{std::move(answer), {}};
}

}  // namespace adf::dnsread
