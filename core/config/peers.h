// The config's "peers" section: removal by agreement between the daemons of
// a pool (sdk/peer-protocol.md). The feature is on when the section is
// there; its "key" is required. Example:
//
//   "peers": {
//     "key": {"file": "/etc/autodnsfailover/pool.key"},  // openssl rand -base64 32
//     "port": 7953, "ask_timeout": "auto", "agreement": "majority",
//     "rise": 2, "fall": 1,
//     "damping": {"penalty": 1000, "suppress": 2000, "reuse": 750,
//                 "half_life": 60, "max_suppress": 300}
//   }
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/validator.h"
#include "net/address.h"
#include "peer/hysteresis.h"
#include "peer/wire.h"

namespace adf::config {

struct Peers {
    peer::Keys keys;                // "key" signs and checks; "accept_key" is also accepted
    std::optional<Address> listen;  // nothing: every address (IPv4 and IPv6)
    uint16_t port = peer::kDefaultPort;
    std::optional<double> ask_timeout;  // seconds; nothing: "auto" (ask_deadline())
    unsigned agreement = 0;             // 0: "majority"; else that many confirmations
    unsigned max_asked = 8;             // observers asked about one address at most
    double clock_window = 30;           // seconds (peer::kDefaultWindowMs)
    peer::HysteresisSettings hysteresis;
};

// The seconds an "auto" ask_timeout adds to the longest check, for the
// answers to travel and the answering daemons to be scheduled.
constexpr double kAskMargin = 0.25;

// How long a daemon waits for its peers' answers: ask_timeout, or for
// "auto" long enough for a peer to check the address now (`attempts` x
// `check_timeout`) plus kAskMargin, at most peer::kMaxWaitMs.
double ask_deadline(const Peers &peers, double check_timeout, unsigned attempts);

// Reads the "peers" section (`value`), reporting every error to `v` with its
// JSON path ("peers.key", "peers.damping.half_life"). The key, inline or
// from {"file": PATH} or {"env": NAME} (config/string_source.h), is read
// and decoded here, so that check-config reports an unreadable or weak key.
Peers read_peers(Validator &v, const nlohmann::json &value);

}  // namespace adf::config
