// Optional C++17 helper: one DNS message exchange with one server, over UDP
// or TCP, within a deadline. Not part of the ABI; header-only. Bytes in,
// bytes out: build and parse the messages with the DNS library of your
// choice (the in-tree users take libldns). Failures come back as values
// precise enough to tell a user what to check; nothing here throws.
//
//   const adf::SocketAddress server = *adf::socket_address("192.0.2.53", 53);
//   const auto deadline = adf::dns::Clock::now() + std::chrono::seconds(3);
//   adf::dns::Exchange reply = adf::dns::udp_exchange(server, query, deadline, 1.0);
//   if (reply.ok() && truncated(reply.answer))          // TC bit: ask again over TCP
//       reply = adf::dns::tcp_exchange(server, query, deadline);
//   if (!reply.ok())
//       throw adf::Error(ADF_TRANSIENT, reply.failure->describe(server.text()));
#ifndef AUTODNSFAILOVER_DNS_TRANSPORT_HPP
#define AUTODNSFAILOVER_DNS_TRANSPORT_HPP

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "posix.hpp"

namespace adf::dns {

using Clock = std::chrono::steady_clock;
using Bytes = std::vector<uint8_t>;

// Largest message UDP carries without EDNS (RFC 1035 4.2.1).
constexpr size_t kUdpMessageLimit = 512;
// Largest message at all: TCP frames it with a two-byte length (4.2.2).
constexpr size_t kMessageLimit = 65535;

// Why an exchange brought no answer.
struct Failure {
    enum Kind {
        kSocket,    // no socket could be opened (`error`)
        kRefused,   // nothing listens: ICMP port unreachable (UDP), a reset (TCP)
        kTimeout,   // the deadline passed during `step`
        kClosed,    // the server closed the TCP connection before the whole answer
        kSystem,    // `step` failed with `error`
        kTooLarge,  // the message (`size` bytes) is over kMessageLimit
    };
    enum Step { kOpen, kConnect, kSend, kReceive };

    Kind kind = kSystem;
    Step step = kOpen;
    bool tcp = false;
    int error = 0;         // errno, where one applies
    double elapsed = 0;    // seconds from the start of the exchange
    size_t size = 0;       // kTooLarge: the message's size

    const char *protocol() const { return tcp ? "TCP" : "UDP"; }

    // The failure in words naming `server` ("192.0.2.53:53", see
    // SocketAddress::text()): "no answer from 192.0.2.53:53 over UDP within
    // 3.0 s (the timeout)".
    std::string describe(const std::string &server) const {
        const std::string over = std::string(" over ") + protocol();
        switch (kind) {
            case kSocket:
                return std::string("cannot open a ") + protocol() + " socket for " + server + ": " +
                       std::strerror(error);
            case kRefused:
                return server +
                       (tcp ? " refused the TCP connection"
                            : " refused the UDP query (ICMP port unreachable)") +
                       ": no DNS server listens there (check server and port)";
            case kTimeout:
                if (step == kConnect) return "no TCP connection to " + server + within();
                if (step == kSend) return server + " did not take the request" + within();
                return "no answer from " + server + over + within();
            case kClosed:
                return server + " closed the TCP connection before answering";
            case kTooLarge:
                return "the message is too large for DNS over TCP (" + std::to_string(size) +
                       " bytes)";
            case kSystem:
                break;
        }
        const std::string why = std::string(": ") + std::strerror(error);
        if (step == kConnect)
            return (tcp ? "cannot connect to " : "cannot reach ") + server + over + why;
        if (step == kSend) return "sending to " + server + over + " failed" + why;
        return "receiving from " + server + over + " failed" + why;
    }

   private:
    std::string within() const {
        char seconds[32];
        std::snprintf(seconds, sizeof seconds, "%.1f", elapsed);
        return std::string(" within ") + seconds + " s (the timeout)";
    }
};

struct Exchange {
    Bytes answer;                    // the answer message, when ok()
    std::optional<Failure> failure;  // else why there is none
    bool ok() const { return !failure.has_value(); }
};

// Is `reply` a response (QR set) carrying the message ID of `query`?
inline bool carries_id_of(const Bytes &query, const Bytes &reply) {
    constexpr size_t kHeaderSize = 12;
    return query.size() >= 2 && reply.size() >= kHeaderSize && reply[0] == query[0] &&
           reply[1] == query[1] && (reply[2] & 0x80) != 0;
}

// Further checks a UDP datagram must pass to be taken as the answer (the
// same question, a valid message...); datagrams that fail are ignored.
using AnswerFilter = std::function<bool(const Bytes &)>;

namespace detail {

// One exchange under way: which transport, since when.
class Attempt {
   public:
    explicit Attempt(bool tcp) : tcp_(tcp), start_(Clock::now()) {}

    Failure failed(Failure::Kind kind, Failure::Step step, int error = 0) const {
        Failure failure;
        failure.kind = kind;
        failure.step = step;
        failure.tcp = tcp_;
        failure.error = error;
        failure.elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
        return failure;
    }
    // What errno `error` of `step` means: a refusal, or a plain system error.
    Failure failed_with(Failure::Step step, int error) const {
        return failed(error == ECONNREFUSED ? Failure::kRefused : Failure::kSystem, step, error);
    }

   private:
    bool tcp_;
    Clock::time_point start_;
};

// Milliseconds from now until `when`, rounded up so that poll() never wakes
// a little early and spins, 0 once it has passed.
inline int poll_ms_until(Clock::time_point when) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(when - Clock::now());
    return static_cast<int>(std::clamp<long long>(left.count(), 0, 3600LL * 1000));
}

constexpr int kWaitTimedOut = -1;

// 0 once `fd` is ready for `events`, kWaitTimedOut when `until` passed
// first, else the errno of poll().
inline int wait_for(int fd, short events, Clock::time_point until) {
    for (;;) {
        pollfd entry{fd, events, 0};
        const int ready = ::poll(&entry, 1, poll_ms_until(until));
        if (ready > 0) return 0;
        if (ready < 0 && errno != EINTR) return errno;
        if (ready == 0 && Clock::now() >= until) return kWaitTimedOut;
    }
}

inline Failure wait_failure(const Attempt &attempt, Failure::Step step, int waited) {
    return waited == kWaitTimedOut ? attempt.failed(Failure::kTimeout, step)
                                   : attempt.failed(Failure::kSystem, step, waited);
}

inline bool try_again(int error) {
    return error == EAGAIN || error == EWOULDBLOCK || error == EINTR;
}

inline std::optional<Failure> connect_stream(const Attempt &attempt, int fd,
                                             const SocketAddress &server,
                                             Clock::time_point deadline) {
    if (::connect(fd, server.get(), server.length) == 0) return std::nullopt;
    if (errno != EINPROGRESS && errno != EINTR)
        return attempt.failed_with(Failure::kConnect, errno);
    if (const int waited = wait_for(fd, POLLOUT, deadline))
        return wait_failure(attempt, Failure::kConnect, waited);
    int error = 0;
    socklen_t size = sizeof error;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0) error = errno;
    if (error != 0) return attempt.failed_with(Failure::kConnect, error);
    return std::nullopt;
}

// Sends (step kSend) or receives (kReceive) exactly `size` bytes on a
// non-blocking stream socket.
inline std::optional<Failure> transfer(const Attempt &attempt, int fd, uint8_t *data, size_t size,
                                       Failure::Step step, Clock::time_point deadline) {
    const bool sending = step == Failure::kSend;
    size_t done = 0;
    while (done < size) {
        const ssize_t n = sending ? ::send(fd, data + done, size - done, MSG_NOSIGNAL)
                                  : ::recv(fd, data + done, size - done, 0);
        if (n > 0) {
            done += static_cast<size_t>(n);
            continue;
        }
        if (n == 0 && !sending) return attempt.failed(Failure::kClosed, step);
        if (n < 0 && !try_again(errno)) return attempt.failed_with(step, errno);
        if (const int waited = wait_for(fd, sending ? POLLOUT : POLLIN, deadline))
            return wait_failure(attempt, step, waited);
    }
    return std::nullopt;
}

}  // namespace detail

// Sends `query` in one datagram to `server` and returns the first datagram
// that carries its ID (see carries_id_of) and passes `accept` (when given);
// others are ignored. The query goes out again every `resend_every` seconds
// (0: once only) until `deadline`: right for queries, wrong for updates,
// which a server may apply twice. The socket is connected, so only the
// server's datagrams arrive and its "port unreachable" fails the exchange at
// once (kRefused) instead of at the deadline.
inline Exchange udp_exchange(const SocketAddress &server, const Bytes &query,
                             Clock::time_point deadline, double resend_every = 0,
                             const AnswerFilter &accept = nullptr) {
    using detail::Attempt;
    const Attempt attempt(false);
    const UniqueFd socket(::socket(server.family(), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) return {{}, attempt.failed(Failure::kSocket, Failure::kOpen, errno)};
    if (::connect(socket.get(), server.get(), server.length) != 0)
        return {{}, attempt.failed_with(Failure::kConnect, errno)};
    const auto resend_interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(resend_every));
    Bytes datagram(kMessageLimit);
    Clock::time_point next_send = Clock::now();
    for (;;) {
        const Clock::time_point now = Clock::now();
        if (now >= deadline) return {{}, attempt.failed(Failure::kTimeout, Failure::kReceive)};
        if (now >= next_send) {
            // A datagram the kernel cannot queue now (EAGAIN) is as good as
            // lost: resending, or the deadline, deals with it.
            const ssize_t sent = ::send(socket.get(), query.data(), query.size(), 0);
            if (sent < 0 && !detail::try_again(errno))
                return {{}, attempt.failed_with(Failure::kSend, errno)};
            next_send = resend_every > 0 ? now + resend_interval : deadline;
        }
        const int waited = detail::wait_for(socket.get(), POLLIN, std::min(next_send, deadline));
        if (waited == detail::kWaitTimedOut) continue;  // time to send again, or give up
        if (waited != 0) return {{}, attempt.failed(Failure::kSystem, Failure::kReceive, waited)};
        const ssize_t n = ::recv(socket.get(), datagram.data(), datagram.size(), 0);
        if (n < 0) {
            if (detail::try_again(errno)) continue;
            return {{}, attempt.failed_with(Failure::kReceive, errno)};
        }
        Bytes answer(datagram.begin(), datagram.begin() + n);
        if (carries_id_of(query, answer) && (!accept || accept(answer)))
            return {std::move(answer), std::nullopt};
    }
}

// Sends `query` over a new TCP connection to `server`, framed with its
// two-byte length (RFC 1035 4.2.2), and returns the first message that comes
// back, all before `deadline`. The answer is not checked: compare its ID and
// question yourself.
inline Exchange tcp_exchange(const SocketAddress &server, const Bytes &query,
                             Clock::time_point deadline) {
    using detail::Attempt;
    const Attempt attempt(true);
    if (query.size() > kMessageLimit) {
        Failure failure = attempt.failed(Failure::kTooLarge, Failure::kSend);
        failure.size = query.size();
        return {{}, failure};
    }
    const UniqueFd socket(
        ::socket(server.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!socket) return {{}, attempt.failed(Failure::kSocket, Failure::kOpen, errno)};
    if (auto failure = detail::connect_stream(attempt, socket.get(), server, deadline))
        return {{}, failure};
    Bytes framed{static_cast<uint8_t>(query.size() >> 8), static_cast<uint8_t>(query.size())};
    framed.insert(framed.end(), query.begin(), query.end());
    if (auto failure = detail::transfer(attempt, socket.get(), framed.data(), framed.size(),
                                        Failure::kSend, deadline))
        return {{}, failure};
    uint8_t length[2];
    if (auto failure = detail::transfer(attempt, socket.get(), length, sizeof length,
                                        Failure::kReceive, deadline))
        return {{}, failure};
    Bytes answer(static_cast<size_t>(length[0]) << 8 | length[1]);
    if (auto failure = detail::transfer(attempt, socket.get(), answer.data(), answer.size(),
                                        Failure::kReceive, deadline))
        return {{}, failure};
    return {std::move(answer), std::nullopt};
}

}  // namespace adf::dns

#endif  // AUTODNSFAILOVER_DNS_TRANSPORT_HPP
