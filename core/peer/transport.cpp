#include "peer/transport.h"

#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <time.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "util/clock.h"

namespace adf::peer {
namespace {

// Room for any control message these sockets receive: a packet-info
// record, or an extended error with the ICMP sender's address.
constexpr size_t kControlBytes = 256;
// Datagrams read in one call at most, so that a flood cannot hold a caller.
constexpr int kMaxReadsPerCall = 256;

Address address_of(const SocketAddress &socket) {
    Address address;
    if (socket.family() == AF_INET) {
        sockaddr_in in{};
        std::memcpy(&in, &socket.storage, sizeof in);
        address.family = 4;
        std::memcpy(address.bytes.data(), &in.sin_addr, 4);
        return address;
    }
    sockaddr_in6 in6{};
    std::memcpy(&in6, &socket.storage, sizeof in6);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
        address.family = 4;
        std::memcpy(address.bytes.data(), in6.sin6_addr.s6_addr + 12, 4);
        return address;
    }
    address.family = 6;
    std::memcpy(address.bytes.data(), &in6.sin6_addr, 16);
    return address;
}

SocketAddress socket_address_of(const Address &address, uint16_t port) {
    SocketAddress out;
    if (address.family == 4) {
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_port = htons(port);
        std::memcpy(&in.sin_addr, address.bytes.data(), 4);
        std::memcpy(&out.storage, &in, sizeof in);
        out.length = sizeof in;
    } else {
        sockaddr_in6 in6{};
        in6.sin6_family = AF_INET6;
        in6.sin6_port = htons(port);
        std::memcpy(&in6.sin6_addr, address.bytes.data(), 16);
        std::memcpy(&out.storage, &in6, sizeof in6);
        out.length = sizeof in6;
    }
    return out;
}

bool is_unspecified(const Address &address) {
    const size_t used = address.family == 4 ? 4 : 16;
    return std::all_of(address.bytes.begin(), address.bytes.begin() + static_cast<long>(used),
                       [](uint8_t b) { return b == 0; });
}

void set_option(int fd, int level, int name, int value, const char *what) {
    if (setsockopt(fd, level, name, &value, sizeof value) != 0)
        throw std::runtime_error(fmt::format("setsockopt {}: {}", what, std::strerror(errno)));
}

template <class T>
T control_data(const cmsghdr *header) {
    T value{};
    std::memcpy(&value, CMSG_DATA(header), sizeof value);
    return value;
}

// The destination of a datagram received on a wildcard socket, from its
// packet-info record: the address an answer must come from.
void read_packet_info(msghdr &message, std::optional<SocketAddress> &local, int &interface) {
    for (cmsghdr *c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
        if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
            const auto info = control_data<in_pktinfo>(c);
            sockaddr_in in{};
            in.sin_family = AF_INET;
            in.sin_addr = info.ipi_spec_dst;
            local.emplace();
            std::memcpy(&local->storage, &in, sizeof in);
            local->length = sizeof in;
            interface = info.ipi_ifindex;
        } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
            const auto info = control_data<in6_pktinfo>(c);
            sockaddr_in6 in6{};
            in6.sin6_family = AF_INET6;
            in6.sin6_addr = info.ipi6_addr;
            local.emplace();
            std::memcpy(&local->storage, &in6, sizeof in6);
            local->length = sizeof in6;
            interface = static_cast<int>(info.ipi6_ifindex);
        }
    }
}

// Sends `bytes` to `to`, from `local` when given (IP_PKTINFO/IPV6_PKTINFO).
bool send_from(int fd, const std::string &bytes, const SocketAddress &to,
               const std::optional<SocketAddress> &local, int interface) {
    iovec iov{const_cast<char *>(bytes.data()), bytes.size()};
    msghdr message{};
    message.msg_name = const_cast<sockaddr *>(to.get());
    message.msg_namelen = to.length;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    alignas(cmsghdr) char control[kControlBytes] = {};
    if (local) {
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        cmsghdr *c = CMSG_FIRSTHDR(&message);
        if (local->family() == AF_INET) {
            sockaddr_in in{};
            std::memcpy(&in, &local->storage, sizeof in);
            in_pktinfo info{};
            info.ipi_spec_dst = in.sin_addr;
            c->cmsg_level = IPPROTO_IP;
            c->cmsg_type = IP_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof info);
            std::memcpy(CMSG_DATA(c), &info, sizeof info);
            message.msg_controllen = CMSG_SPACE(sizeof info);
        } else {
            sockaddr_in6 in6{};
            std::memcpy(&in6, &local->storage, sizeof in6);
            in6_pktinfo info{};
            info.ipi6_addr = in6.sin6_addr;
            info.ipi6_ifindex = static_cast<unsigned>(interface);
            c->cmsg_level = IPPROTO_IPV6;
            c->cmsg_type = IPV6_PKTINFO;
            c->cmsg_len = CMSG_LEN(sizeof info);
            std::memcpy(CMSG_DATA(c), &info, sizeof info);
            message.msg_controllen = CMSG_SPACE(sizeof info);
        }
    }
    for (;;) {
        const ssize_t sent = sendmsg(fd, &message, MSG_NOSIGNAL);
        if (sent >= 0) return static_cast<size_t>(sent) == bytes.size();
        if (errno != EINTR) return false;
    }
}

int poll_timeout_ms(double seconds) {
    if (seconds <= 0) return 0;
    return static_cast<int>(std::min(std::ceil(seconds * 1000), 3600.0 * 1000));
}

}  // namespace

uint64_t wall_clock_ms() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<uint64_t>(ts.tv_sec) * 1000 + static_cast<uint64_t>(ts.tv_nsec) / 1000000;
}

// ------------------------------------------------------------------ server

Server::Server(std::optional<Address> listen, uint16_t port, ServerSettings settings)
    : port_(port), settings_(std::move(settings)), replays_(settings_.replay_capacity) {
    if (listen) {
        open_socket(*listen, is_unspecified(*listen));
        return;
    }
    std::string failures;
    for (const char *any : {"0.0.0.0", "::"}) {
        try {
            open_socket(*parse_address(any), true);
        } catch (const std::runtime_error &e) {
            failures += (failures.empty() ? "" : "; ") + std::string(e.what());
        }
    }
    if (sockets_.empty()) throw std::runtime_error(failures);
}

void Server::open_socket(const Address &address, bool wildcard) {
    const int family = address.family == 4 ? AF_INET : AF_INET6;
    const std::string where = fmt::format(
        "{}:{}", address.family == 6 ? "[" + address.text() + "]" : address.text(), port_);
    UniqueFd fd(socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd)
        throw std::runtime_error(
            fmt::format("cannot listen on UDP {}: {}", where, std::strerror(errno)));
    try {
        if (family == AF_INET6) set_option(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, 1, "IPV6_V6ONLY");
        if (wildcard && family == AF_INET)
            set_option(fd.get(), IPPROTO_IP, IP_PKTINFO, 1, "IP_PKTINFO");
        if (wildcard && family == AF_INET6)
            set_option(fd.get(), IPPROTO_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO");
    } catch (const std::runtime_error &e) {
        throw std::runtime_error(fmt::format("cannot listen on UDP {}: {}", where, e.what()));
    }
    const SocketAddress bound = socket_address_of(address, port_);
    if (bind(fd.get(), bound.get(), bound.length) != 0)
        throw std::runtime_error(
            fmt::format("cannot listen on UDP {}: {}", where, std::strerror(errno)));
    SocketAddress actual;
    if (getsockname(fd.get(), actual.get(), &actual.length) == 0) port_ = actual.port();
    sockets_.push_back(Socket{std::move(fd), family, wildcard});
}

std::vector<int> Server::descriptors() const {
    std::vector<int> fds;
    for (const Socket &s : sockets_) fds.push_back(s.fd.get());
    return fds;
}

std::optional<Served> Server::serve_one(int fd, const IsMember &is_member, const Lookup &lookup,
                                        uint64_t now_ms) {
    const auto socket = std::find_if(sockets_.begin(), sockets_.end(),
                                     [&](const Socket &s) { return s.fd.get() == fd; });
    if (socket == sockets_.end())
        throw std::logic_error("serve_one: not a descriptor of this server");
    char buffer[kMaxMessageBytes + 1];
    alignas(cmsghdr) char control[kControlBytes];
    Return to;
    to.socket = &*socket;
    iovec iov{buffer, sizeof buffer};
    msghdr message{};
    message.msg_name = to.to.get();
    message.msg_namelen = to.to.length;
    message.msg_iov = &iov;
    message.msg_iovlen = 1;
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    ssize_t length = -1;
    do {
        length = recvmsg(fd, &message, MSG_TRUNC);  // the datagram's whole length, even if cut
    } while (length < 0 && errno == EINTR);
    if (length < 0) return std::nullopt;
    to.to.length = message.msg_namelen;
    if (socket->wildcard) read_packet_info(message, to.local, to.interface);

    Served served;
    served.from = address_of(to.to);
    served.from_port = to.to.port();
    const auto refuse = [&](Refusal why) {
        refusals_.add(why);
        served.refusal = why;
        return served;
    };
    if (!is_member(served.from)) return refuse(Refusal::UnknownSender);
    if (static_cast<size_t>(length) > kMaxMessageBytes) return refuse(Refusal::Oversized);
    Opened opened;
    const Refusal refusal =
        open_question(std::string_view(buffer, static_cast<size_t>(length)), settings_.keys, now_ms,
                      settings_.window_ms, replays_, opened);
    if (refusal == Refusal::Stale || refusal == Refusal::Future)
        served.clock_offset_ms = static_cast<int64_t>(opened.message.sent_at_ms - now_ms);
    if (refusal != Refusal::None) return refuse(refusal);

    const Question &question = std::get<Question>(opened.message.body);
    to.nonce = opened.message.nonce;
    to.subject = question.subject;
    to.signed_by = opened.signed_by;
    to.deadline_ms = now_ms + question.wait_ms;
    Inquiry inquiry{question, served.from, ++next_ticket_,
                    deferred_.size() < settings_.max_deferred};
    std::optional<Answer> answer = lookup(inquiry);
    if (!answer && inquiry.may_defer) {
        deferred_.emplace(inquiry.ticket, to);
        served.deferred = true;
        return served;
    }
    if (!answer) {
        answer = Answer{};
        answer->verdict = Verdict::Unknown;
        answer->reason = "too many questions are waiting for a check";
    }
    send_answer(to, std::move(*answer), now_ms);
    served.answered = true;
    return served;
}

void Server::send_answer(const Return &to, Answer answer, uint64_t now_ms) {
    answer.subject = to.subject;
    answer.reason = wire_reason(answer.reason);
    if (!is_opinion(answer.verdict)) answer.age_ms = 0;
    Message message;
    message.sent_at_ms = now_ms;
    message.nonce = to.nonce;
    message.body = std::move(answer);
    const Key &key = to.signed_by == 0 || !settings_.keys.also_accepted
                         ? settings_.keys.signing
                         : *settings_.keys.also_accepted;
    if (send_from(to.socket->fd.get(), encode(message, key), to.to, to.local, to.interface))
        ++answers_sent_;
    else
        ++send_failures_;
}

bool Server::answer_later(uint64_t ticket, Answer answer, uint64_t now_ms) {
    const auto found = deferred_.find(ticket);
    if (found == deferred_.end()) return false;
    const Return to = found->second;
    deferred_.erase(found);
    if (now_ms > to.deadline_ms) return false;
    send_answer(to, std::move(answer), now_ms);
    return true;
}

size_t Server::expire_deferred(uint64_t now_ms) {
    size_t expired = 0;
    for (auto it = deferred_.begin(); it != deferred_.end();) {
        if (now_ms > it->second.deadline_ms) {
            it = deferred_.erase(it);
            ++expired;
        } else {
            ++it;
        }
    }
    return expired;
}

// ------------------------------------------------------------------- asker

const char *heard_name(Heard heard) {
    switch (heard) {
        case Heard::Answer: return "answered";
        case Heard::NoListener: return "no listener";
        case Heard::Unreachable: return "unreachable";
        case Heard::Silent: return "silent";
    }
    return "invalid";
}

struct Asker::Pending {
    Nonce nonce{};
    Address subject;  // what the question is about: its answer must say the same
    std::string bytes;
    int fd = -1;
    SocketAddress to;
    bool sent = false;
    bool done = false;  // its reply is final
};

Asker::Asker(Keys keys, uint16_t port) : keys_(std::move(keys)), port_(port) {}

int Asker::socket_for(int family) {
    UniqueFd &fd = family == 4 ? ipv4_ : ipv6_;
    if (fd) return fd.get();
    UniqueFd fresh(
        socket(family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    // ICMP errors (port unreachable: nothing listens) come back on the
    // error queue with the destination they were about.
    const int on = 1;
    const bool ok = family == 4
                        ? setsockopt(fresh.get(), IPPROTO_IP, IP_RECVERR, &on, sizeof on) == 0
                        : setsockopt(fresh.get(), IPPROTO_IPV6, IPV6_RECVERR, &on, sizeof on) == 0;
    if (!fresh || !ok) return -1;  // errno says why
    const auto source = sources_.find(family);
    if (source != sources_.end()) {
        // Not an address of this host (a public address behind NAT): the
        // kernel's choice is the best there is.
        const SocketAddress local = socket_address_of(source->second, 0);
        (void)bind(fresh.get(), local.get(), local.length);
    }
    fd = std::move(fresh);
    return fd.get();
}

void Asker::send_from(const Address &source) {
    const auto known = sources_.find(source.family);
    if (known != sources_.end() && known->second == source) return;
    sources_[source.family] = source;
    (source.family == 4 ? ipv4_ : ipv6_) = UniqueFd();
}

std::vector<Reply> Asker::ask(const std::vector<Target> &targets, double deadline,
                              const isolation::Interrupt &interrupt) {
    const double started = monotonic_now();
    std::vector<Reply> replies(targets.size());
    std::vector<Pending> pending(targets.size());
    for (size_t i = 0; i < targets.size(); ++i) {
        const Target &target = targets[i];
        Reply &reply = replies[i];
        Pending &p = pending[i];
        reply.peer = target.peer;
        p.nonce = random_nonce();
        p.subject = target.question.subject;
        Message message;
        message.sent_at_ms = wall_clock_ms();
        message.nonce = p.nonce;
        message.body = target.question;
        p.bytes = encode(message, keys_.signing);
        p.to = socket_address_of(target.peer, port_);
        p.fd = socket_for(target.peer.family);
        if (p.fd < 0) {
            reply.heard = Heard::Unreachable;
            reply.error = std::strerror(errno);
            p.done = true;
        }
    }
    send_all(pending, replies, started);
    for (;;) {
        const bool waiting =
            std::any_of(pending.begin(), pending.end(), [](const Pending &p) { return !p.done; });
        const double now = monotonic_now();
        if (!waiting || now >= deadline) break;
        const bool unsent = std::any_of(pending.begin(), pending.end(),
                                        [](const Pending &p) { return !p.done && !p.sent; });
        std::vector<pollfd> fds;
        for (const UniqueFd *fd : {&ipv4_, &ipv6_})
            if (*fd)
                fds.push_back(
                    pollfd{fd->get(), static_cast<short>(POLLIN | (unsent ? POLLOUT : 0)), 0});
        const size_t sockets = fds.size();
        if (interrupt.wake_fd >= 0) fds.push_back(pollfd{interrupt.wake_fd, POLLIN, 0});
        if (poll(fds.data(), fds.size(), poll_timeout_ms(deadline - now)) < 0 && errno != EINTR)
            break;
        if (sockets < fds.size() && fds.back().revents != 0 && interrupt.should_stop &&
            interrupt.should_stop())
            break;
        for (size_t i = 0; i < sockets; ++i) {
            if (fds[i].revents & POLLERR) receive_errors(fds[i].fd, pending, replies, started);
            if (fds[i].revents & POLLIN) receive(fds[i].fd, pending, replies, started);
        }
        if (unsent) send_all(pending, replies, started);
    }
    return replies;
}

// Sends one question: 0, or the errno of this destination's own failure.
// An ICMP error about an earlier datagram (to another peer) is also kept as
// the socket's pending error, which the next send returns once without
// sending: such an error is retried (the error queue attributes it to its
// own destination, receive_errors()). The same error twice in a row is this
// destination's (a route that says "unreachable" does so every time).
int Asker::send_one(const Pending &p) {
    int last = 0;
    for (int attempt = 0; attempt < 8; ++attempt) {
        const ssize_t sent =
            sendto(p.fd, p.bytes.data(), p.bytes.size(), MSG_NOSIGNAL, p.to.get(), p.to.length);
        if (sent >= 0) return 0;
        const int error = errno;
        if (error == EINTR) continue;
        if (error == EAGAIN || error == EWOULDBLOCK) return error;
        // Never this destination's own: an unconnected socket learns of a
        // refusal only later, from the reply (ICMP port unreachable).
        if (error == ECONNREFUSED) continue;
        if (error == last) return error;
        last = error;
    }
    return last == 0 ? ECONNREFUSED : last;
}

void Asker::send_all(std::vector<Pending> &pending, std::vector<Reply> &replies, double started) {
    for (size_t i = 0; i < pending.size(); ++i) {
        Pending &p = pending[i];
        if (p.done || p.sent) continue;
        const int error = send_one(p);
        if (error == 0) {
            p.sent = true;
        } else if (error != EAGAIN && error != EWOULDBLOCK) {
            p.done = true;
            replies[i].heard = Heard::Unreachable;
            replies[i].error = std::strerror(error);
            replies[i].seconds = monotonic_now() - started;
        }
    }
}

void Asker::receive(int fd, std::vector<Pending> &pending, std::vector<Reply> &replies,
                    double started) {
    char buffer[kMaxMessageBytes + 1];
    for (int reads = 0; reads < kMaxReadsPerCall; ++reads) {
        const ssize_t length = recv(fd, buffer, sizeof buffer, MSG_TRUNC);
        if (length < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        // Another error is the socket's pending ICMP error, reported once
        // here as well as on the error queue (receive_errors reads that).
        if (length < 0) continue;
        if (static_cast<size_t>(length) > kMaxMessageBytes) {
            refusals_.add(Refusal::Oversized);
            continue;
        }
        Opened opened;
        const Refusal refusal =
            open_answer(std::string_view(buffer, static_cast<size_t>(length)), keys_, opened);
        if (refusal != Refusal::None) {
            refusals_.add(refusal);
            continue;
        }
        const auto match = std::find_if(pending.begin(), pending.end(), [&](const Pending &p) {
            return p.sent && !p.done && p.nonce == opened.message.nonce;
        });
        if (match == pending.end()) {
            refusals_.add(Refusal::Unsolicited);
            continue;
        }
        Answer &answer = std::get<Answer>(opened.message.body);
        if (answer.subject != match->subject) {
            refusals_.add(Refusal::Mismatch);
            continue;
        }
        const size_t index = static_cast<size_t>(match - pending.begin());
        match->done = true;
        replies[index].heard = Heard::Answer;
        replies[index].answer = std::move(answer);
        replies[index].seconds = monotonic_now() - started;
    }
}

void Asker::receive_errors(int fd, std::vector<Pending> &pending, std::vector<Reply> &replies,
                           double started) {
    for (int reads = 0; reads < kMaxReadsPerCall; ++reads) {
        char data[kMaxMessageBytes + 1];
        alignas(cmsghdr) char control[kControlBytes];
        SocketAddress destination;
        iovec iov{data, sizeof data};
        msghdr message{};
        message.msg_name = destination.get();
        message.msg_namelen = destination.length;
        message.msg_iov = &iov;
        message.msg_iovlen = 1;
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        if (recvmsg(fd, &message, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) return;
        destination.length = message.msg_namelen;
        int error = 0;
        for (cmsghdr *c = CMSG_FIRSTHDR(&message); c != nullptr; c = CMSG_NXTHDR(&message, c)) {
            if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
                (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR))
                error = static_cast<int>(control_data<sock_extended_err>(c).ee_errno);
        }
        if (error == 0) continue;
        const Address peer = address_of(destination);
        for (size_t i = 0; i < pending.size(); ++i) {
            if (pending[i].done || !(replies[i].peer == peer)) continue;
            pending[i].done = true;
            replies[i].heard = error == ECONNREFUSED ? Heard::NoListener : Heard::Unreachable;
            replies[i].error = std::strerror(error);
            replies[i].seconds = monotonic_now() - started;
        }
    }
}

}  // namespace adf::peer
