// The messages between the daemon and its check helper, over one
// SOCK_SEQPACKET socket pair (each send is one message, never split or
// merged). Both ends are built from the same tree: the setup message carries
// the version, and a helper of another version refuses to serve.
//
//   daemon -> helper   Setup    JSON: version, plugin, plugin_dirs, section, logging
//   helper -> daemon   Ready    JSON: ok, name, capacity / ok false, error
//   daemon -> helper   Checks   one or more Request records
//   daemon -> helper   Cancel   kill every attempt in flight, report none of them
//   helper -> daemon   Verdicts one or more Reply records
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/config.h"
#include "logging/log.h"
#include "net/address.h"

namespace adf::isolation::protocol {

// The largest message either side sends or accepts.
constexpr size_t kMessageMax = 64 * 1024;
// The longest reason a check child may give (the rest is cut).
constexpr size_t kReasonMax = 1024;

enum Tag : char {
    kSetup = 'S',
    kReady = 'A',
    kChecks = 'R',
    kCancel = 'C',
    kVerdicts = 'V',
};

struct Setup {
    std::string version;  // ADF_VERSION of the daemon
    config::PluginSection section;
    std::vector<std::string> plugin_dirs;
    log::Options logging;
};

struct Ready {
    bool ok = false;
    std::string error;     // when not ok: why the plugin could not be created
    std::string name;      // the plugin's declared name
    unsigned capacity = 0; // attempts the helper can hold at once (its descriptor budget)
};

// One attempt to check one address.
struct Request {
    uint64_t id = 0;
    Address address;
    double timeout = 1;  // seconds; the attempt is killed with its group then
};

enum class Outcome : uint8_t {
    Alive = 0,
    Dead = 1,       // the check said so, crashed, or timed out: about the peer
    HostFault = 2,  // the helper could not run it (fork, pipe): says nothing about the peer
};

struct Reply {
    uint64_t id = 0;
    Outcome outcome = Outcome::Dead;
    std::string reason;  // empty when alive
};

std::string encode_setup(const Setup &setup);
std::string encode_ready(const Ready &ready);
std::string encode_checks(const std::vector<Request> &requests);
std::string encode_replies(const std::vector<Reply> &replies);
std::string encode_cancel();

// Decoders return nothing for a message that is not of their kind or is
// malformed; `error` (when given) then says what was wrong.
std::optional<Setup> decode_setup(const std::string &message, std::string &error);
std::optional<Ready> decode_ready(const std::string &message, std::string &error);
std::optional<std::vector<Request>> decode_checks(const std::string &message);
std::optional<std::vector<Reply>> decode_replies(const std::string &message);

// How many replies fit in one message when each carries `reason_bytes`.
size_t reply_size(size_t reason_bytes);

// One message on a SOCK_SEQPACKET socket. send_message (blocking, for the
// setup): false with errno set when it could not be sent. receive_message: 1
// with a message, 0 at end of stream (the peer closed), -1 with errno set
// (EAGAIN when none is waiting, EMSGSIZE for a message longer than `max`).
bool send_message(int fd, const std::string &message);
int receive_message(int fd, std::string &message, size_t max = kMessageMax);

// Messages waiting for room in the socket. A Unix socket queues only a few
// messages (net.unix.max_dgram_qlen, 10 by default): a side that blocked in
// send() while the other also sends would deadlock both, so each side keeps
// reading and sends when poll() says POLLOUT.
class Outbox {
   public:
    void push(std::string message);
    // Sends what fits now; false when the socket is broken (the peer is gone).
    bool flush(int fd);
    bool empty() const { return queue_.empty(); }

   private:
    std::deque<std::string> queue_;
};

}  // namespace adf::isolation::protocol
