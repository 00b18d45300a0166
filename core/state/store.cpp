#include "state/store.h"

#include <algorithm>

#include <fmt/format.h>

#include "net/address.h"

namespace adf::state {

using events::Kind;
using nlohmann::json;

const char *verdict_name(Verdict verdict) {
    switch (verdict) {
        case Verdict::Unknown: return "unknown";
        case Verdict::Alive: return "alive";
        case Verdict::Dead: return "dead";
        case Verdict::NotJudged: return "not_judged";
    }
    return "unknown";
}

void Store::update(const std::function<void(Snapshot &)> &change) {
    std::lock_guard<std::mutex> lock(mutex_);
    change(state_);
}

SetState &Store::set_of(const std::string &fqdn, int family) {
    for (auto &set : state_.sets)
        if (set.fqdn == fqdn && set.family == family) return set;
    state_.sets.push_back(SetState{fqdn, family, "", {}, {}, "", {}, 0, {}, "", {}});
    return state_.sets.back();
}

void Store::set_records(const std::string &fqdn, int family, const std::string &self,
                        const std::vector<std::string> &records, Stamp now) {
    std::lock_guard<std::mutex> lock(mutex_);
    SetState &set = set_of(fqdn, family);
    set.self = self;
    set.records = records;
    set.read_at = now;
    set.read_error.clear();
    set.read_failures = 0;
    set.read_failing_since = {};
    // Peers that left the set are no longer this set's business.
    for (auto it = set.peers.begin(); it != set.peers.end();)
        it = std::find(records.begin(), records.end(), it->first) == records.end()
                 ? set.peers.erase(it)
                 : std::next(it);
}

namespace {

void apply_verdict(PeerState &peer, const std::string &address, Verdict verdict,
                   const std::string &reason, Stamp now) {
    peer.address = address;
    if (peer.verdict != verdict || !peer.since.is_set()) peer.since = now;
    peer.verdict = verdict;
    peer.checked = now;
    peer.reason = reason;
    // What the daemon did about a dead peer no longer holds once it passes.
    if (verdict == Verdict::Alive) peer.action.clear();
}

}  // namespace

void Store::set_verdict(const std::string &fqdn, int family, const std::string &peer,
                        Verdict verdict, const std::string &reason, Stamp now) {
    std::lock_guard<std::mutex> lock(mutex_);
    apply_verdict(set_of(fqdn, family).peers[peer], peer, verdict, reason, now);
}

void Store::set_self_check(int family, const std::string &address, Verdict verdict,
                           const std::string &reason, Stamp now) {
    std::lock_guard<std::mutex> lock(mutex_);
    PeerState &self = state_.self_checks[family];
    if (self.address != address) self = PeerState{};
    apply_verdict(self, address, verdict, reason, now);
}

void Store::backend_result(const std::string &backend, const std::string &operation, bool ok,
                           const std::string &error, Stamp now) {
    std::lock_guard<std::mutex> lock(mutex_);
    BackendHealth &health = state_.backends[backend];
    health.name = backend;
    if (ok) {
        health.ok = true;
        health.failures = 0;
        health.failing_since = {};
        health.last_ok = now;
        return;
    }
    if (health.ok) health.failing_since = now;
    health.ok = false;
    ++health.failures;
    health.last_error = error;
    health.last_operation = operation;
}

void Store::on_event(const events::Event &e) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (e.fqdn.empty() || e.family == 0) return;
    SetState &set = set_of(e.fqdn, e.family);
    const auto act = [&](const std::string &what) {
        auto peer = set.peers.find(e.peer);
        if (peer == set.peers.end()) return;
        peer->second.action = what;
        peer->second.action_at = e.time;
    };
    switch (e.kind) {
        case Kind::SelfFenced:
            if (set.self_fenced.empty()) set.self_fenced_since = e.time;
            set.self_fenced = e.message;
            break;
        case Kind::PeerRemoved:
        case Kind::PeerAlreadyGone:
        case Kind::SelfAdded:
            if (e.kind == Kind::SelfAdded) set.self_fenced.clear();
            if (e.set_after) set.records = *e.set_after;
            if (e.kind != Kind::SelfAdded) set.peers.erase(e.peer);
            break;
        case Kind::RemovalRefused: {
            const std::string what = fmt::format("removal refused ({}): {}",
                                                 events::refusal_name(e.refusal), e.reason);
            if (!e.peer.empty()) {
                act(what);
                break;
            }
            // The partition guard refuses for the whole set: every dead peer.
            for (auto &[address, peer] : set.peers)
                if (peer.verdict == Verdict::Dead) {
                    peer.action = what;
                    peer.action_at = e.time;
                }
            break;
        }
        case Kind::RemovalFailed: act(fmt::format("removal failed ({}): {}", e.status, e.reason)); break;
        case Kind::WouldRemove: act("would be removed (dry run)"); break;
        case Kind::ReadFailed:
            if (set.read_error.empty()) set.read_failing_since = e.time;
            set.read_error = e.reason.empty() ? e.message : e.reason;
            ++set.read_failures;
            break;
        default: break;
    }
}

Snapshot Store::snapshot() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return state_;
}

// ------------------------------------------------------------------- JSON

namespace {

json moment(const Stamp &stamp, const Stamp &now) {
    if (!stamp.is_set()) return nullptr;
    return {{"time", iso_utc(stamp.wall)}, {"age_seconds", now.monotonic - stamp.monotonic}};
}

json peer_json(const PeerState &peer, const Stamp &now) {
    return {{"address", peer.address},
            {"verdict", verdict_name(peer.verdict)},
            {"since", moment(peer.since, now)},
            {"checked", moment(peer.checked, now)},
            {"reason", peer.reason},
            {"action", peer.action},
            {"action_at", moment(peer.action_at, now)}};
}

}  // namespace

json to_json(const Snapshot &s, Stamp now) {
    json out = {{"schema", "autodnsfailover.status.v1"},
                {"version", s.version},
                {"pid", s.pid},
                {"config", s.config_path},
                {"dry_run", s.dry_run},
                {"started", moment(s.started, now)},
                {"plugins", s.plugins},
                {"rounds", s.rounds},
                {"last_round", moment(s.last_round, now)},
                {"last_round_seconds", s.last_round_seconds},
                {"last_good_round", moment(s.last_good_round, now)},
                {"next_round", s.next_round.is_set()
                                   ? json{{"time", iso_utc(s.next_round.wall)},
                                          {"in_seconds", s.next_round.monotonic - now.monotonic}}
                                   : json(nullptr)}};
    json self = json::array();
    for (const auto &[family, check] : s.self_checks) {
        json entry = peer_json(check, now);
        entry["family"] = family;
        self.push_back(entry);
    }
    out["self_checks"] = self;
    json backends = json::array();
    for (const auto &[name, b] : s.backends)
        backends.push_back({{"name", b.name},
                            {"ok", b.ok},
                            {"failing_since", moment(b.failing_since, now)},
                            {"failures", b.failures},
                            {"last_error", b.last_error},
                            {"last_operation", b.last_operation},
                            {"last_ok", moment(b.last_ok, now)}});
    out["backends"] = backends;
    json sets = json::array();
    for (const auto &set : s.sets) {
        json peers = json::array();
        for (const auto &[address, peer] : set.peers) peers.push_back(peer_json(peer, now));
        sets.push_back({{"fqdn", set.fqdn},
                        {"family", set.family},
                        {"type", record_type(set.family)},
                        {"self", set.self},
                        {"records", set.records},
                        {"read", moment(set.read_at, now)},
                        {"read_error", set.read_error},
                        {"read_failing_since", moment(set.read_failing_since, now)},
                        {"read_failures", set.read_failures},
                        {"self_fenced", set.self_fenced},
                        {"self_fenced_since", moment(set.self_fenced_since, now)},
                        {"peers", peers}});
    }
    out["sets"] = sets;
    return out;
}

// ------------------------------------------------------------------- text

namespace {

std::string str(const json &object, const char *key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

double num(const json &object, const char *key) {
    const auto it = object.find(key);
    return it != object.end() && it->is_number() ? it->get<double>() : 0.0;
}

// "2026-11-25T18:00:00.123Z (3.1 s ago)", or "never".
std::string when(const json &moment) {
    if (!moment.is_object()) return "never";
    return fmt::format("{} ({} ago)", str(moment, "time"), human_duration(num(moment, "age_seconds")));
}

std::string peer_line(const json &peer, const std::string &label) {
    std::string line = fmt::format("  {:<16} {:<10} since {}", label, str(peer, "verdict"),
                                   when(peer.value("since", json())));
    if (!str(peer, "reason").empty()) line += ": " + str(peer, "reason");
    if (!str(peer, "action").empty())
        line += fmt::format("\n  {:<16} {}, {}", "", str(peer, "action"),
                            when(peer.value("action_at", json())));
    return line;
}

}  // namespace

std::string render_text(const json &s) {
    std::string out = fmt::format("autodnsfailover {} (pid {}){}, config {}\n", str(s, "version"),
                                  s.value("pid", 0L), s.value("dry_run", false) ? ", DRY RUN" : "",
                                  str(s, "config"));
    out += fmt::format("started {}\n", when(s.value("started", json())));
    std::vector<std::string> plugins;
    const json slots = s.value("plugins", json::object());
    for (const auto &[slot, name] : slots.items())
        plugins.push_back(fmt::format("{} {}", slot, name.is_string() ? name.get<std::string>() : ""));
    out += fmt::format("plugins: {}\n", fmt::join(plugins, ", "));
    const json next = s.value("next_round", json());
    out += fmt::format("rounds: {}; last ended {}, took {:.2f} s; last good {}; next {}\n",
                       s.value("rounds", 0ULL), when(s.value("last_round", json())),
                       num(s, "last_round_seconds"), when(s.value("last_good_round", json())),
                       next.is_object() ? fmt::format("in {}", human_duration(num(next, "in_seconds")))
                                        : std::string("not scheduled"));
    for (const auto &b : s.value("backends", json::array())) {
        if (b.value("ok", true))
            out += fmt::format("backend {}: ok, last success {}\n", str(b, "name"),
                               when(b.value("last_ok", json())));
        else
            out += fmt::format("backend {}: FAILING since {}, {} failed {} in a row: {}\n",
                               str(b, "name"), when(b.value("failing_since", json())),
                               b.value("failures", 0), str(b, "last_operation") + "s",
                               str(b, "last_error"));
    }
    for (const auto &check : s.value("self_checks", json::array()))
        out += fmt::format("self-check IPv{}: {}\n", check.value("family", 0),
                           peer_line(check, str(check, "address")).substr(2));
    for (const auto &set : s.value("sets", json::array())) {
        const std::string self = str(set, "self");
        std::vector<std::string> records;
        for (const auto &r : set.value("records", json::array())) {
            const std::string address = r.is_string() ? r.get<std::string>() : "";
            records.push_back(address == self ? address + " (me)" : address);
        }
        out += fmt::format("\n{} {}: {} record{}, read {}\n", str(set, "fqdn"), str(set, "type"),
                           records.size(), records.size() == 1 ? "" : "s",
                           when(set.value("read", json())));
        if (!str(set, "read_error").empty())
            out += fmt::format("  READ FAILING since {}, {} failed read{} in a row: {}\n",
                               when(set.value("read_failing_since", json())),
                               set.value("read_failures", 0), set.value("read_failures", 0) == 1 ? "" : "s",
                               str(set, "read_error"));
        if (!str(set, "self_fenced").empty())
            out += fmt::format("  STAYING OUT since {}: {}\n",
                               when(set.value("self_fenced_since", json())),
                               str(set, "self_fenced"));
        out += fmt::format("  records: {}\n", records.empty() ? "(none)" : fmt::format("{}", fmt::join(records, ", ")));
        for (const auto &peer : set.value("peers", json::array()))
            out += peer_line(peer, str(peer, "address")) + "\n";
    }
    return out;
}

std::string one_line(const Snapshot &s, Stamp now) {
    std::vector<std::string> parts;
    for (const auto &set : s.sets) {
        size_t dead = 0;
        for (const auto &[address, peer] : set.peers) dead += peer.verdict == Verdict::Dead;
        std::string part = fmt::format("{} {} {} record{}", set.fqdn, record_type(set.family),
                                       set.records.size(), set.records.size() == 1 ? "" : "s");
        if (dead > 0) part += fmt::format(", {} dead", dead);
        if (!set.read_error.empty()) part += ", read failing";
        if (!set.self_fenced.empty()) part += ", staying out (peers cannot reach me)";
        parts.push_back(part);
    }
    std::string line = fmt::format("round {}: {}", s.rounds,
                                   parts.empty() ? std::string("no set read yet")
                                                 : fmt::format("{}", fmt::join(parts, "; ")));
    if (s.next_round.is_set())
        line += fmt::format("; next in {}", human_duration(s.next_round.monotonic - now.monotonic));
    return line;
}

}  // namespace adf::state
