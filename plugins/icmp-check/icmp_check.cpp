// icmp-check: a peer is alive when it answers at least `required` of `count`
// ICMP (IPv4) or ICMPv6 (IPv6) echo requests, sent `interval` seconds apart,
// all within the check's timeout.
//
// Checks run concurrently in sibling processes, and a raw socket sees every
// ICMP packet of the host, so a reply only counts when its identifier (the
// check process's pid, unique among the running checks), sequence (from a
// random start), source address and payload (starting with a random cookie)
// all match a request this check sent.
#include <autodnsfailover/check_deadline.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/posix.hpp>

#include <poll.h>
#include <sys/random.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "icmp_socket.hpp"

namespace {

using Clock = adf::CheckDeadline::Clock;
using adf::seconds_text;

uint64_t random_u64() {
    uint64_t value = 0;
    if (getrandom(&value, sizeof value, 0) != static_cast<ssize_t>(sizeof value))
        value = static_cast<uint64_t>(Clock::now().time_since_epoch().count());
    return value;
}

// sendto() says EINVAL for a blackhole route, which is not obvious.
std::string send_error_text(int error) {
    return std::string(std::strerror(error)) + (error == EINVAL ? " (a blackhole route?)" : "");
}

// What happened to the echo requests of one check.
struct Tally {
    int sent = 0;      // handed to the kernel
    int failed = 0;    // refused by sendto()
    int answered = 0;  // matching replies
    int last_send_error = 0;
    uint16_t first_sequence = 0;
    std::vector<bool> replied;  // by request number (sequence - first_sequence)

    int requests() const { return sent + failed; }
    // The request number a sequence stands for, or -1 when not one of ours.
    int request_of(uint16_t sequence) const {
        const int number = static_cast<uint16_t>(sequence - first_sequence);
        return number < requests() ? number : -1;
    }
};

class IcmpCheck {
   public:
    explicit IcmpCheck(adf::Host &host)
        : host_(host),
          count_(static_cast<int>(host.integer("/count", 3, 1, 100))),
          required_(static_cast<int>(host.integer("/required", 1, 1, 100))),
          interval_(host.number("/interval", 0.2, 0.0, 60.0)),
          payload_size_(static_cast<size_t>(host.integer("/payload_size", 56, 0, 1400))) {
        if (required_ > count_)
            host.config_error("/required", "is " + std::to_string(required_) +
                                               ", more than count (" + std::to_string(count_) +
                                               "): required must not exceed count");
    }

    bool check(const std::string &address, int family, double timeout) const {
        const adf::CheckDeadline deadline(timeout);
        const adf::SocketAddress target = adf::peer_address(address, family);
        const icmp::EchoSocket socket(family);
        const uint16_t identifier = socket.identifier(static_cast<uint16_t>(getpid() & 0xffff));
        const std::vector<uint8_t> payload = make_payload();
        const double interval = spaced_interval(deadline.budget());
        host_.debug("sending " + std::to_string(count_) + " echo requests to " + address +
                    " on a " + socket.kind() + " socket, identifier " +
                    std::to_string(identifier) + ", every " + seconds_text(interval));

        Tally tally;
        tally.first_sequence = static_cast<uint16_t>(random_u64() & 0xffff);
        tally.replied.assign(static_cast<size_t>(count_), false);
        Clock::time_point next_send = deadline.start();
        // The first request goes out however short the timeout.
        while (tally.answered < required_ && (tally.requests() == 0 || !deadline.passed())) {
            if (tally.requests() < count_ && Clock::now() >= next_send) {
                send_next(socket, target, identifier, payload, tally);
                next_send = deadline.after(interval * tally.requests());
            }
            if (hopeless(tally)) break;
            const bool more_to_send = tally.requests() < count_;
            pollfd ready{socket.fd(), POLLIN, 0};
            const int n = poll(&ready, 1, more_to_send ? deadline.poll_ms(next_send) : deadline.poll_ms());
            if (n < 0 && errno != EINTR)
                throw adf::Error(ADF_FAILED, std::string("poll: ") + std::strerror(errno));
            if (n > 0) collect_replies(socket, target, identifier, payload, tally, address);
        }
        if (tally.answered >= required_) return true;
        host_.set_error(reason(address, timeout, tally));
        return false;
    }

   private:
    // Replies to every probe must be able to arrive before the deadline:
    // spread the probes over at most half of the time the check has.
    double spaced_interval(double budget) const {
        if (count_ < 2 || interval_ * (count_ - 1) <= budget / 2) return interval_;
        const double squeezed = budget / 2 / (count_ - 1);
        host_.debug("interval " + seconds_text(interval_) + " squeezed to " +
                    seconds_text(squeezed) + " to fit " + std::to_string(count_) +
                    " probes into the check timeout");
        return squeezed;
    }

    // A random cookie, then a fixed pattern: replies of other checks (or
    // stray packets with a colliding identifier) never match it.
    std::vector<uint8_t> make_payload() const {
        std::vector<uint8_t> payload(payload_size_);
        const uint64_t cookie = random_u64();
        for (size_t i = 0; i < payload.size(); ++i)
            payload[i] = i < sizeof cookie ? static_cast<uint8_t>(cookie >> (8 * i))
                                           : static_cast<uint8_t>(i & 0xff);
        return payload;
    }

    void send_next(const icmp::EchoSocket &socket, const adf::SocketAddress &target,
                   uint16_t identifier, const std::vector<uint8_t> &payload, Tally &tally) const {
        const auto sequence = static_cast<uint16_t>(tally.first_sequence + tally.requests());
        const int error = socket.send_echo(target, identifier, sequence, payload);
        if (error == 0) {
            ++tally.sent;
            return;
        }
        ++tally.failed;
        tally.last_send_error = error;
        host_.debug("echo request " + std::to_string(tally.requests()) +
                    " not sent: " + send_error_text(error));
    }

    // True when even answers to every request still out could not make it.
    bool hopeless(const Tally &tally) const {
        const int unsent = count_ - tally.requests();
        return tally.sent + unsent < required_;
    }

    void collect_replies(const icmp::EchoSocket &socket, const adf::SocketAddress &target,
                         uint16_t identifier, const std::vector<uint8_t> &payload, Tally &tally,
                         const std::string &address) const {
        icmp::EchoReply reply;
        bool is_reply = false;
        while (socket.receive(reply, is_reply)) {
            if (!is_reply || reply.identifier != identifier ||
                !reply.source.same_host(target) || reply.payload != payload)
                continue;
            const int request = tally.request_of(reply.sequence);
            if (request < 0 || tally.replied[static_cast<size_t>(request)]) continue;
            tally.replied[static_cast<size_t>(request)] = true;
            ++tally.answered;
            host_.debug("echo reply " + std::to_string(request + 1) + " from " + address);
        }
    }

    std::string reason(const std::string &address, double timeout, const Tally &tally) const {
        const std::string send_error =
            tally.failed == 0 ? ""
                              : std::to_string(tally.failed) + " of " + std::to_string(count_) +
                                    " echo requests could not be sent: " +
                                    send_error_text(tally.last_send_error);
        if (tally.sent == 0)
            return "cannot send echo requests to " + address + ": " +
                   send_error_text(tally.last_send_error);
        std::string text;
        if (tally.answered == 0)
            text = "no echo reply from " + address + " within " + seconds_text(timeout);
        else
            text = std::to_string(tally.answered) + " of " + std::to_string(tally.requests()) +
                   " echo requests answered, " + std::to_string(required_) + " required";
        return send_error.empty() ? text : text + " (" + send_error + ")";
    }

    adf::Host &host_;
    int count_;
    int required_;
    double interval_;
    size_t payload_size_;
};

}  // namespace

ADF_CHECK_PLUGIN(IcmpCheck, "icmp-check", "1.0.0",
                 "ICMP / ICMPv6 echo: alive when enough echo requests are answered");
