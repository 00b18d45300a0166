#include "transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

#include <autodnsfailover/plugin.hpp>

namespace rfc2136 {

namespace {

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

std::string seconds_text(Clock::duration duration) {
    const double seconds = std::chrono::duration<double>(duration).count();
    char text[32];
    std::snprintf(text, sizeof text, "%.1f", seconds);
    return text;
}

int milliseconds_until(Clock::time_point when) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 1000LL * 3600));
}

[[noreturn]] void transient(const std::string &message) {
    throw adf::Error(ADF_TRANSIENT, message);
}

Socket open_socket(const Endpoint &server, int type, const char *protocol) {
    const int fd = ::socket(server.address.ss_family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        transient(std::string("cannot open a ") + protocol + " socket for " + server.text + ": " +
                  std::strerror(errno));
    return Socket(fd);
}

// Waits for `events` on `fd` until `deadline`; false when the time is up.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, milliseconds_until(deadline));
        if (ready > 0) return true;
        if (ready < 0 && errno != EINTR) transient(std::string("poll failed: ") + std::strerror(errno));
        if (ready == 0 && Clock::now() >= deadline) return false;
    }
}

std::string refused_text(const Endpoint &server, const char *protocol) {
    return server.text + (std::string(protocol) == "UDP"
                              ? " refused the UDP query (ICMP port unreachable)"
                              : " refused the TCP connection") +
           ": no DNS server listens there (check server and port)";
}

void connect_tcp(const Socket &socket, const Endpoint &server, Clock::time_point start,
                 Clock::time_point deadline) {
    if (::connect(socket.fd(), reinterpret_cast<const sockaddr *>(&server.address),
                  server.length) == 0)
        return;
    if (errno != EINPROGRESS)
        transient(errno == ECONNREFUSED ? refused_text(server, "TCP")
                                        : "cannot connect to " + server.text + " over TCP: " +
                                              std::strerror(errno));
    if (!wait_for(socket.fd(), POLLOUT, deadline))
        transient("no TCP connection to " + server.text + " within " +
                  seconds_text(Clock::now() - start) + " s (the timeout)");
    int error = 0;
    socklen_t size = sizeof error;
    ::getsockopt(socket.fd(), SOL_SOCKET, SO_ERROR, &error, &size);
    if (error == ECONNREFUSED) transient(refused_text(server, "TCP"));
    if (error != 0)
        transient("cannot connect to " + server.text + " over TCP: " + std::strerror(error));
}

void send_all(const Socket &socket, const Endpoint &server, const Bytes &data,
              Clock::time_point start, Clock::time_point deadline) {
    size_t sent = 0;
    while (sent < data.size()) {
        const ssize_t n = ::send(socket.fd(), data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
            continue;
        }
        if (errno != EAGAIN && errno != EINTR)
            transient("sending to " + server.text + " over TCP failed: " + std::strerror(errno));
        if (!wait_for(socket.fd(), POLLOUT, deadline))
            transient(server.text + " did not take the request within " +
                      seconds_text(Clock::now() - start) + " s (the timeout)");
    }
}

void receive_exactly(const Socket &socket, const Endpoint &server, uint8_t *into, size_t size,
                     Clock::time_point start, Clock::time_point deadline) {
    size_t got = 0;
    while (got < size) {
        const ssize_t n = ::recv(socket.fd(), into + got, size - got, 0);
        if (n > 0) {
            got += static_cast<size_t>(n);
            continue;
        }
        if (n == 0) transient(server.text + " closed the TCP connection before answering");
        if (errno != EAGAIN && errno != EINTR)
            transient("receiving from " + server.text + " over TCP failed: " +
                      std::strerror(errno));
        if (!wait_for(socket.fd(), POLLIN, deadline))
            transient("no answer from " + server.text + " over TCP within " +
                      seconds_text(Clock::now() - start) + " s (the timeout)");
    }
}

}  // namespace

std::optional<Endpoint> make_endpoint(const std::string &address, uint16_t port) {
    Endpoint endpoint;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&endpoint.address);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&endpoint.address);
    if (::inet_pton(AF_INET, address.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        endpoint.length = sizeof(sockaddr_in);
        endpoint.text = address + ":" + std::to_string(port);
        return endpoint;
    }
    if (::inet_pton(AF_INET6, address.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        endpoint.length = sizeof(sockaddr_in6);
        endpoint.text = "[" + address + "]:" + std::to_string(port);
        return endpoint;
    }
    return std::nullopt;
}

Bytes udp_exchange(const Endpoint &server, const Bytes &message, const AnswerFilter &is_answer,
                   Clock::time_point deadline, double resend_every) {
    const Clock::time_point start = Clock::now();
    Socket socket = open_socket(server, SOCK_DGRAM, "UDP");
    // A connected socket takes datagrams from the server only and reports
    // its ICMP "port unreachable" as ECONNREFUSED.
    if (::connect(socket.fd(), reinterpret_cast<const sockaddr *>(&server.address),
                  server.length) != 0)
        transient("cannot reach " + server.text + " over UDP: " + std::strerror(errno));
    const auto resend_interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(resend_every));
    Bytes datagram(65535);
    Clock::time_point next_send = start;
    for (;;) {
        const Clock::time_point now = Clock::now();
        if (now >= deadline)
            transient("no answer from " + server.text + " over UDP within " +
                      seconds_text(now - start) + " s (the timeout)");
        if (now >= next_send) {
            if (::send(socket.fd(), message.data(), message.size(), 0) < 0 && errno != EAGAIN)
                transient(errno == ECONNREFUSED
                              ? refused_text(server, "UDP")
                              : "sending to " + server.text + " over UDP failed: " +
                                    std::strerror(errno));
            next_send = resend_every > 0 ? now + resend_interval : deadline;
        }
        if (!wait_for(socket.fd(), POLLIN, std::min(next_send, deadline))) continue;
        const ssize_t n = ::recv(socket.fd(), datagram.data(), datagram.size(), 0);
        if (n < 0) {
            if (errno == EAGAIN || errno == EINTR) continue;
            transient(errno == ECONNREFUSED ? refused_text(server, "UDP")
                                            : "receiving from " + server.text +
                                                  " over UDP failed: " + std::strerror(errno));
        }
        Bytes answer(datagram.begin(), datagram.begin() + n);
        if (is_answer(answer)) return answer;
    }
}

Bytes tcp_exchange(const Endpoint &server, const Bytes &message, Clock::time_point deadline) {
    const Clock::time_point start = Clock::now();
    if (message.size() > 65535)
        throw adf::Error(ADF_FAILED, "the message is too large for DNS over TCP (" +
                                         std::to_string(message.size()) + " bytes)");
    Socket socket = open_socket(server, SOCK_STREAM, "TCP");
    connect_tcp(socket, server, start, deadline);
    Bytes framed{static_cast<uint8_t>(message.size() >> 8), static_cast<uint8_t>(message.size())};
    framed.insert(framed.end(), message.begin(), message.end());
    send_all(socket, server, framed, start, deadline);
    uint8_t length[2];
    receive_exactly(socket, server, length, sizeof length, start, deadline);
    Bytes answer(static_cast<size_t>(length[0]) << 8 | length[1]);
    receive_exactly(socket, server, answer.data(), answer.size(), start, deadline);
    return answer;
}

}  // namespace rfc2136
