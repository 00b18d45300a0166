// What the daemon sees now, written by the loop thread and read by any other
// (the control socket's `status`, the metrics, the systemd STATUS= line):
// per name and family the record set, per peer the last verdict, since when
// and why, the last and next round, and the health of each backend.
//
// Every moment is kept on both clocks (util/clock.h Stamp): monotonic for
// ages and "no older than" questions, wall for people.
//
// The loop keeps the store current with every check it makes (set_verdict)
// and every event (the store is an events::Sink observing every event). The
// peer server does not answer from here: its answers need the hysteresis
// of every address (loop/peering.h, peer/view.h).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/events.h"
#include "util/clock.h"

namespace adf::state {

enum class Verdict { Unknown, Alive, Dead, NotJudged };
// "unknown", "alive", "dead", "not_judged"
const char *verdict_name(Verdict verdict);

struct PeerState {
    std::string address;
    Verdict verdict = Verdict::Unknown;
    Stamp checked;       // the last verdict
    Stamp since;         // when the verdict became what it is
    std::string reason;  // why the last check failed (empty when it passed at once)
    std::string action;  // what the daemon last did about it ("removal refused (min_records): ...")
    Stamp action_at;
};

struct SetState {
    std::string fqdn;
    int family = 4;
    std::string self;                  // this host's address of the family
    std::vector<std::string> records;  // as last read, or as the last write left it
    Stamp read_at;                     // the last successful read
    std::string read_error;            // empty while reads work
    Stamp read_failing_since;
    size_t read_failures = 0;          // failed reads in a row
    std::map<std::string, PeerState> peers;  // the peers of `records`
    std::string self_fenced;  // why this host stays out (its peers see it dead); "" when not
    Stamp self_fenced_since;
};

// One backend: the dns plugin, or the DNS servers of read_from.
struct BackendHealth {
    std::string name;
    bool ok = true;
    std::string last_error;    // the last failure's reason (kept after it recovered)
    std::string last_operation;  // of that failure: "read", "add", "remove"
    Stamp failing_since;
    size_t failures = 0;       // failed operations in a row
    Stamp last_ok;
};

struct Snapshot {
    std::string version;
    long pid = 0;
    std::string config_path;
    bool dry_run = false;
    Stamp started;
    std::map<std::string, std::string> plugins;  // slot -> name
    unsigned long long rounds = 0;
    Stamp last_round;        // when the last round ended
    double last_round_seconds = 0;
    Stamp last_good_round;   // the last round that did its whole job
    Stamp next_round;        // when the next one starts
    std::map<int, PeerState> self_checks;  // family -> the own address's last check
    std::vector<SetState> sets;
    std::map<std::string, BackendHealth> backends;
};

class Store : public events::Sink {
   public:
    // ---- writers: the loop thread
    // Any change under the lock (the other helpers below are shorthands).
    void update(const std::function<void(Snapshot &)> &change);
    void set_records(const std::string &fqdn, int family, const std::string &self,
                     const std::vector<std::string> &records, Stamp now);
    void set_verdict(const std::string &fqdn, int family, const std::string &peer, Verdict verdict,
                     const std::string &reason, Stamp now);
    void set_self_check(int family, const std::string &address, Verdict verdict,
                        const std::string &reason, Stamp now);
    // A backend call's result ("read", "add", "remove").
    void backend_result(const std::string &backend, const std::string &operation, bool ok,
                        const std::string &error, Stamp now);
    void on_event(const events::Event &event) override;

    // ---- readers: any thread
    Snapshot snapshot() const;

   private:
    SetState &set_of(const std::string &fqdn, int family);  // lock held
    mutable std::mutex mutex_;
    Snapshot state_;
};

// The snapshot as the control socket sends it (`status --json`), ages
// computed against `now`. Versioned: "schema": "autodnsfailover.status.v1".
nlohmann::json to_json(const Snapshot &snapshot, Stamp now);

// The status for people, from that JSON (so that text and --json agree).
std::string render_text(const nlohmann::json &status);

// One line for systemd's STATUS= ("round 42: www.example.test A 3 records,
// 1 dead; next in 7 s").
std::string one_line(const Snapshot &snapshot, Stamp now);

}  // namespace adf::state
