#include "config/peers.h"

#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include "config/string_source.h"

namespace adf::config {
namespace {

using json = nlohmann::json;

std::optional<peer::Key> read_key(Validator &v, const json &value, const std::string &path) {
    const Result<std::string> text = resolve_string(value);
    if (!text) {
        v.fail(path, text.reason());
        return std::nullopt;
    }
    Result<peer::Key> key = peer::decode_key(*text);
    if (!key) {
        v.fail(path, key.reason());
        return std::nullopt;
    }
    return std::move(*key);
}

void read_keys(Validator &v, const json &value, Peers &peers) {
    const auto key = value.find("key");
    if (key == value.end()) {
        v.fail("peers.key",
               "missing (the pool's shared key: `openssl rand -base64 32` into a "
               "file every member reads, named as {\"file\": PATH})");
        return;
    }
    if (auto k = read_key(v, *key, "peers.key")) peers.keys.signing = std::move(*k);
    const auto other = value.find("accept_key");
    if (other == value.end()) return;
    if (auto k = read_key(v, *other, "peers.accept_key")) {
        if (k->bytes == peers.keys.signing.bytes)
            v.fail("peers.accept_key",
                   "the same key as peers.key (it is for the other key "
                   "during a rotation)");
        else
            peers.keys.also_accepted = std::move(*k);
    }
}

void read_listen(Validator &v, const json &value, Peers &peers) {
    std::optional<Address> address;
    if (value.is_string()) address = parse_address(value.get<std::string>());
    if (!address)
        v.expected("peers.listen", "an IP address (leave it out to listen on every address)",
                   value);
    else
        peers.listen = address;
}

void read_agreement(Validator &v, const json &value, Peers &peers) {
    if (value == "majority") {
        peers.agreement = 0;
        return;
    }
    if (auto n = v.integer(value, "peers.agreement", 1, 1024, "majority"))
        peers.agreement = static_cast<unsigned>(*n);
}

void read_ask_timeout(Validator &v, const json &value, Peers &peers) {
    if (value == "auto") {
        peers.ask_timeout.reset();
        return;
    }
    const double most = peer::kMaxWaitMs / 1000.0;
    if (value.is_number() && value.get<double>() >= 0.01 && value.get<double>() <= most)
        peers.ask_timeout = value.get<double>();
    else
        v.expected("peers.ask_timeout", fmt::format("\"auto\" or a number from 0.01 to {:g}", most),
                   value);
}

void read_damping(Validator &v, const json &value, peer::Damping &damping) {
    if (value == false) {
        damping.enabled = false;
        return;
    }
    if (!value.is_object()) {
        v.expected("peers.damping", "false or an object {\"penalty\": ..., \"suppress\": ...}",
                   value);
        return;
    }
    v.unknown_keys(value, "peers.damping",
                   {"penalty", "suppress", "reuse", "half_life", "max_suppress"});
    const std::pair<const char *, double *> numbers[] = {{"penalty", &damping.penalty},
                                                         {"suppress", &damping.suppress},
                                                         {"reuse", &damping.reuse},
                                                         {"half_life", &damping.half_life},
                                                         {"max_suppress", &damping.max_suppress}};
    bool valid = true;
    for (const auto &[key, target] : numbers) {
        const auto it = value.find(key);
        if (it == value.end()) continue;
        const double low = std::string(key) == "max_suppress" ? 0 : 1;
        if (auto x = v.number(*it, fmt::format("peers.damping.{}", key), low, 1e9))
            *target = *x;
        else
            valid = false;
    }
    if (!valid) return;
    if (damping.reuse >= damping.suppress)
        v.fail("peers.damping.reuse", fmt::format("must be below suppress ({:g}), got {:g}",
                                                  damping.suppress, damping.reuse));
    else if (damping.ceiling() <= damping.suppress)
        v.fail("peers.damping.max_suppress",
               fmt::format("{:g} s is too short: the penalty could never exceed suppress ({:g}); "
                           "it must exceed half_life x log2(suppress / reuse) = {:g} s",
                           damping.max_suppress, damping.suppress,
                           damping.half_life * std::log2(damping.suppress / damping.reuse)));
}

}  // namespace

double ask_deadline(const Peers &peers, double check_timeout, unsigned attempts) {
    if (peers.ask_timeout) return *peers.ask_timeout;
    return std::min(check_timeout * std::max(1u, attempts) + kAskMargin, peer::kMaxWaitMs / 1000.0);
}

Peers read_peers(Validator &v, const json &value) {
    Peers peers;
    if (!value.is_object()) {
        v.expected("peers", "an object {\"key\": ..., ...}", value);
        return peers;
    }
    v.unknown_keys(value, "peers",
                   {"key", "accept_key", "listen", "port", "ask_timeout", "agreement", "max_asked",
                    "clock_window", "rise", "fall", "damping"});
    read_keys(v, value, peers);
    if (auto it = value.find("listen"); it != value.end()) read_listen(v, *it, peers);
    if (auto it = value.find("port"); it != value.end())
        if (auto n = v.integer(*it, "peers.port", 1, 65535)) peers.port = uint16_t(*n);
    if (auto it = value.find("ask_timeout"); it != value.end()) read_ask_timeout(v, *it, peers);
    if (auto it = value.find("agreement"); it != value.end()) read_agreement(v, *it, peers);
    if (auto it = value.find("max_asked"); it != value.end())
        if (auto n = v.integer(*it, "peers.max_asked", 1, 1024))
            peers.max_asked = static_cast<unsigned>(*n);
    if (auto it = value.find("clock_window"); it != value.end())
        if (auto x = v.number(*it, "peers.clock_window", 1, 3600)) peers.clock_window = *x;
    auto &h = peers.hysteresis;
    if (auto it = value.find("rise"); it != value.end())
        if (auto n = v.integer(*it, "peers.rise", 1, 100)) h.rise = static_cast<unsigned>(*n);
    if (auto it = value.find("fall"); it != value.end())
        if (auto n = v.integer(*it, "peers.fall", 1, 100)) h.fall = static_cast<unsigned>(*n);
    if (auto it = value.find("damping"); it != value.end()) read_damping(v, *it, h.damping);
    return peers;
}

}  // namespace adf::config
