// The peer protocol over UDP: a Server that answers the questions of the
// pool's other daemons, and an Asker that puts questions to several peers at
// once and collects their answers until a deadline. Both are non-blocking
// and single-threaded: the Server belongs to the thread that polls its
// descriptors (the daemon's service thread), an Asker to the thread that
// calls ask() (the daemon's loop). Messages are made and checked by wire.h
// and verify.h; nothing here decides anything about a peer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <autodnsfailover/posix.hpp>

#include "isolation/check_runner.h"
#include "net/address.h"
#include "peer/refusal.h"
#include "peer/replay.h"
#include "peer/verify.h"
#include "peer/wire.h"

namespace adf::peer {

// Our wall clock (CLOCK_REALTIME) in ms since the Unix epoch: the clock of
// the messages' timestamps.
uint64_t wall_clock_ms();

// ------------------------------------------------------------------ server

// One question as the daemon's lookup sees it.
struct Inquiry {
    Question question;
    Address from;            // the asking daemon (the datagram's source address)
    uint64_t ticket = 0;     // for Server::answer_later()
    bool may_defer = false;  // whether there is room to answer later
};

// The daemon's answer to an inquiry: an Answer now, or nothing to answer
// later through Server::answer_later(ticket) (only when may_defer; else the
// server answers Unknown). The server fills in the subject and makes the
// reason fit (wire_reason); the lookup sets verdict, age, observer, reason.
using Lookup = std::function<std::optional<Answer>(const Inquiry &)>;

// Whether an address belongs to the pool (roster.h); questions from others
// are refused before anything else is read.
using IsMember = std::function<bool(const Address &)>;

struct ServerSettings {
    Keys keys;
    uint64_t window_ms = kDefaultWindowMs;
    size_t replay_capacity = kDefaultReplayCapacity;
    // Questions waiting for a check made for them; more are answered Unknown.
    size_t max_deferred = 1024;
};

// What became of one datagram, for the daemon's counters and log.
struct Served {
    Address from;
    uint16_t from_port = 0;
    Refusal refusal = Refusal::None;
    bool answered = false;  // an answer went out
    bool deferred = false;  // it waits for answer_later()
    // For Stale and Future: the sender's clock minus ours, in ms.
    int64_t clock_offset_ms = 0;
};

class Server {
   public:
    // Binds UDP `port` on `listen`, or, when it is nothing, on every address:
    // one socket for IPv4 and one for IPv6 (only IPv6), each answering from
    // the address a question was sent to. A wildcard family the host lacks
    // is skipped. Throws std::runtime_error naming the address and port
    // when nothing could be bound.
    Server(std::optional<Address> listen, uint16_t port, ServerSettings settings);

    // The descriptors to poll for reading (one or two).
    std::vector<int> descriptors() const;
    // The port bound (the one asked for, or the kernel's choice for 0).
    uint16_t port() const { return port_; }

    // Reads one datagram waiting on `fd` (one of descriptors()), checks it
    // and answers it; nothing when no datagram was waiting. `now_ms` is
    // wall_clock_ms() (a parameter for tests).
    std::optional<Served> serve_one(int fd, const IsMember &is_member, const Lookup &lookup,
                                    uint64_t now_ms);

    // Answers a deferred question; false when its ticket is unknown or the
    // asker has stopped waiting (then nothing is sent).
    bool answer_later(uint64_t ticket, Answer answer, uint64_t now_ms);
    // Forgets the deferred questions whose askers stopped waiting; returns
    // how many.
    size_t expire_deferred(uint64_t now_ms);
    size_t deferred() const { return deferred_.size(); }

    const RefusalCounts &refusals() const { return refusals_; }
    uint64_t answers_sent() const { return answers_sent_; }
    uint64_t send_failures() const { return send_failures_; }

   private:
    struct Socket {
        UniqueFd fd;
        int family = 0;         // AF_INET or AF_INET6
        bool wildcard = false;  // answers name their source address (IP_PKTINFO)
    };
    // Where and how an answer goes.
    struct Return {
        const Socket *socket = nullptr;
        SocketAddress to;
        std::optional<SocketAddress> local;  // the question's destination (wildcard sockets)
        int interface = 0;
        Nonce nonce{};
        Address subject;
        size_t signed_by = 0;
        uint64_t deadline_ms = 0;  // the asker waits until then
    };

    void open_socket(const Address &address, bool wildcard);
    void send_answer(const Return &to, Answer answer, uint64_t now_ms);

    std::vector<Socket> sockets_;
    uint16_t port_ = 0;
    ServerSettings settings_;
    ReplayCache replays_;
    std::map<uint64_t, Return> deferred_;
    uint64_t next_ticket_ = 0;
    RefusalCounts refusals_;
    uint64_t answers_sent_ = 0;
    uint64_t send_failures_ = 0;
};

// ------------------------------------------------------------------- asker

// What came back from one peer asked.
enum class Heard : uint8_t {
    Answer,       // an answer that passed every check (its verdict may still be Unknown)
    NoListener,   // the peer's host refused the datagram: reachable, but nothing listens
    Unreachable,  // the datagram could not be delivered (no route, host unreachable)
    Silent,       // nothing by the deadline (lost, filtered, or the peer is down)
};

const char *heard_name(Heard heard);

// One question to put to one peer.
struct Target {
    Address peer;  // where to send it (the peer's port is the pool's)
    Question question;
};

struct Reply {
    Address peer;
    Heard heard = Heard::Silent;
    Answer answer;       // when heard == Answer
    std::string error;   // when Unreachable: why ("No route to host")
    double seconds = 0;  // from sending to the answer or the error
};

class Asker {
   public:
    // `port`: the pool's port, where every peer listens.
    Asker(Keys keys, uint16_t port);

    // Sends every target its question at once, then collects answers until
    // each target has a reply or `deadline` (monotonic seconds,
    // adf::monotonic_now()) has come, or `interrupt` says to stop. The
    // replies are in the order of `targets`; those not heard from are
    // Silent. A datagram that is not an answer to a question in flight is
    // refused and counted (refusals()).
    std::vector<Reply> ask(const std::vector<Target> &targets, double deadline,
                           const isolation::Interrupt &interrupt = {});

    // Questions go out from `source` for its family (this host's address
    // as DNS lists it, so that the peers know the sender as a member of the
    // pool) when it is one of the host's; otherwise, and without one, from
    // the address the kernel chooses.
    void send_from(const Address &source);

    const RefusalCounts &refusals() const { return refusals_; }

   private:
    struct Pending;
    int socket_for(int family);
    static int send_one(const Pending &pending);
    void send_all(std::vector<Pending> &pending, std::vector<Reply> &replies, double started);
    void receive(int fd, std::vector<Pending> &pending, std::vector<Reply> &replies,
                 double started);
    void receive_errors(int fd, std::vector<Pending> &pending, std::vector<Reply> &replies,
                        double started);

    Keys keys_;
    uint16_t port_;
    UniqueFd ipv4_;
    UniqueFd ipv6_;
    std::map<int, Address> sources_;  // family -> the address to send from
    RefusalCounts refusals_;
};

}  // namespace adf::peer
