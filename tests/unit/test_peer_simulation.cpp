// The agreement rule, self-fencing and hysteresis run together over
// thousands of rounds in memory: a fake network of observers (who reaches
// whom, whose service is up, who reaches DNS), an in-memory record set, an
// injected clock, and the daemons' decisions as the integration makes them
// (README, "Deciding together"). Scripted outages assert the issue's
// figures; randomized schedules assert the invariants over every round.
//
// The model. Each host runs a service and a daemon. A round of a daemon
// (every second, at an offset of its own): read the set (needs DNS); check
// every peer listed (a pass needs the peer's service up and a round trip
// between the two hosts); for each peer it counts out, ask up to 8 other
// members, who answer from a verdict under 0.5 s old or check the peer now,
// and remove it when the rule holds (under min_records), or apply the
// single-observer rule with its partition guard on a fallback; when absent
// from the set, ask the peers about itself and re-add only when they agree.
// A daemon whose own service is down exits (its state is lost) and is
// restarted by its supervisor once the service is back. A broken route and
// a one-way loss both break the round trips between two hosts, which is all
// a check or a question needs.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "loop/safety.h"
#include "peer/agreement.h"
#include "peer/hysteresis.h"
#include "peer/opinion.h"

using namespace adf::peer;
using adf::Address;

namespace {

constexpr double kInterval = 1.0;      // seconds per round
constexpr double kMaxAge = 0.5;        // how old a verdict an answer may use (s)
constexpr double kCheckSeconds = 1.0;  // retry x timeout: what a check made now costs

Address address_of(int host) {
    Address a;
    a.family = 4;
    a.bytes[0] = 10;
    a.bytes[3] = static_cast<uint8_t>(host + 1);
    return a;
}

int host_of(const Address &a) { return a.bytes[3] - 1; }

// Who can reach whom, whose service runs, who reaches DNS.
struct Network {
    explicit Network(int n)
        : service(n, true),
          online(n, true),
          dns(n, true),
          killed(n, false),
          link(n, std::vector<bool>(n, true)) {}

    bool round_trip(int a, int b) const {
        return a == b || (online[a] && online[b] && link[a][b] && link[b][a]);
    }
    bool passes_check(int observer, int peer) const {
        return service[peer] && round_trip(observer, peer);
    }
    void cut(int a, int b, bool broken) {
        link[a][b] = !broken;
        link[b][a] = !broken;
    }

    std::vector<bool> service, online, dns;
    std::vector<bool> killed;  // the daemon was SIGKILLed and is not restarted yet
    std::vector<std::vector<bool>> link;
};

struct DaemonState {
    bool running = true;                // exits when its own self-check fails
    std::map<int, PeerHealth> health;   // its view of each address it checked
    std::map<int, double> last_listed;  // when it last saw each address in the set
};

struct Change {
    double t;
    int host;
    bool added;
    int by;
};

class Pool {
   public:
    Pool(int hosts, int min_records, uint64_t seed, Rule rule = {})
        : net(hosts), daemons_(hosts), rule_(rule), random_(seed) {
        safety_.min_records = min_records;
        for (int h = 0; h < hosts; ++h) dns_.insert(h);
    }

    // One round of every daemon, in a random order at random offsets.
    void round() {
        std::vector<int> order(daemons_.size());
        for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int>(i);
        std::shuffle(order.begin(), order.end(), random_);
        std::uniform_real_distribution<double> spread(0, kInterval);
        std::vector<double> offsets;
        for (size_t i = 0; i < order.size(); ++i) offsets.push_back(spread(random_));
        std::sort(offsets.begin(), offsets.end());
        for (size_t i = 0; i < order.size(); ++i) run_daemon(order[i], now_ + offsets[i]);
        now_ += kInterval;
        if (on_round) on_round(*this);
    }
    void rounds(int n) {
        for (int i = 0; i < n; ++i) round();
    }

    bool listed(int host) const { return dns_.count(host) != 0; }
    const std::set<int> &set() const { return dns_; }
    double now() const { return now_; }
    const std::vector<Change> &changes() const { return changes_; }
    size_t changes_of(int host, double since) const {
        return static_cast<size_t>(
            std::count_if(changes_.begin(), changes_.end(),
                          [&](const Change &c) { return c.host == host && c.t >= since; }));
    }
    size_t removals_of(int host, double since) const {
        return static_cast<size_t>(std::count_if(
            changes_.begin(), changes_.end(),
            [&](const Change &c) { return c.host == host && !c.added && c.t >= since; }));
    }
    size_t readds_of(int host, double since) const {
        return changes_of(host, since) - removals_of(host, since);
    }
    const PeerHealth *health(int observer, int subject) const {
        const auto &h = daemons_[observer].health;
        const auto found = h.find(subject);
        return found == h.end() ? nullptr : &found->second;
    }
    const HysteresisSettings &settings() const { return settings_; }
    // Called at every removal: the invariants about removals.
    std::function<void(const Pool &, int by, int removed)> on_removal;
    std::function<void(const Pool &)> on_round;

    Network net;
    size_t fallbacks = 0;
    size_t isolated = 0;
    Decision last_decision;  // of the last removal considered, for messages

   private:
    void run_daemon(int h, double t) {
        DaemonState &d = daemons_[h];
        if (!net.service[h] || net.killed[h]) {  // exit 1 on a failed self-check, or SIGKILL
            d.running = false;
            d.health.clear();
            d.last_listed.clear();
            return;
        }
        d.running = true;                           // its supervisor restarted it, or it ran on
        if (!net.dns[h] || !net.online[h]) return;  // cannot read: nothing changes
        const std::vector<int> members(dns_.begin(), dns_.end());
        std::map<int, bool> passed;  // this round's checks of the members
        for (int p : members) {
            if (p == h) continue;
            passed[p] = net.passes_check(h, p);
            d.health[p].observe(passed[p], t, settings_);
        }
        // Addresses that left the set are checked too, for max_suppress
        // after they left and while their penalty lasts: every observer
        // sees a service that keeps flapping out of DNS, and keeps it damped.
        for (int p : members) d.last_listed[p] = t;
        for (auto &[p, health] : d.health) {
            if (p == h || listed(p)) continue;
            const auto left = d.last_listed.find(p);
            const bool recent =
                left != d.last_listed.end() && t - left->second <= settings_.damping.max_suppress;
            if (recent || !health.settled(t, settings_.damping))
                health.observe(net.passes_check(h, p), t, settings_);
        }
        size_t removed = 0;
        for (int p : members) {
            if (p == h || d.health[p].in() || !listed(p)) continue;
            const Decision decision =
                decide_removal(rule_, d.health[p].verdict(t, settings_.damping),
                               testimonies(h, p, members, passed, t));
            last_decision = decision;
            last_decision.explanation += " [mine: " + d.health[p].explain(t, settings_) + "]";
            bool remove = decision.outcome == Outcome::Remove;
            if (decision.outcome == Outcome::FallBack) {
                // Today's rule: a peer whose check failed this round goes,
                // unless most peers failed at once.
                ++fallbacks;
                remove = !passed[p] && single_observer_rule(passed);
            }
            if (decision.outcome == Outcome::Isolated) ++isolated;
            if (remove && adf::safety::may_remove(dns_.size(), removed, safety_) ==
                              adf::safety::Removal::Allowed) {
                dns_.erase(p);
                ++removed;
                changes_.push_back(Change{t, p, false, h});
                if (on_removal) on_removal(*this, h, p);
            }
        }
        if (!listed(h)) {
            const SelfDecision self = decide_self(testimonies(h, h, members, passed, t));
            if (self.outcome != SelfOutcome::StayOut) {
                dns_.insert(h);
                changes_.push_back(Change{t, h, true, h});
            }
        }
    }

    // Today's rule: remove unless more than half of the peers failed.
    bool single_observer_rule(const std::map<int, bool> &passed) const {
        const size_t dead = static_cast<size_t>(
            std::count_if(passed.begin(), passed.end(), [](const auto &p) { return !p.second; }));
        return !adf::safety::looks_partitioned(passed.size(), dead, 0.5);
    }

    std::vector<Testimony> testimonies(int h, int subject, const std::vector<int> &members,
                                       const std::map<int, bool> &passed, double t) {
        std::vector<Address> set;
        for (int m : members) set.push_back(address_of(m));
        std::vector<Testimony> out;
        for (const Address &a :
             observers_to_ask(set, address_of(subject), address_of(h), 8, random_)) {
            const int o = host_of(a);
            Testimony x;
            const auto mine = passed.find(o);
            x.passes_my_checks = mine != passed.end() && mine->second;
            if (!net.round_trip(h, o)) {
                x.heard = Heard::Silent;
            } else if (!daemons_[o].running || !net.service[o] || net.killed[o]) {
                x.heard = Heard::NoListener;
            } else {
                x.heard = Heard::Answer;
                x.verdict = answer(o, subject, t);
            }
            out.push_back(x);
        }
        return out;
    }

    // Observer `o` answers about `subject`, checking it now when its verdict is stale.
    Verdict answer(int o, int subject, double t) {
        PeerHealth &health = daemons_[o].health[subject];
        const Question q{address_of(subject), "www.example.com",
                         static_cast<uint32_t>(kMaxAge * 1000), 2000};
        switch (answer_source(&health, q, t, kCheckSeconds)) {
            case AnswerSource::Stored: break;
            case AnswerSource::CheckNow:
                health.observe(net.passes_check(o, subject), t, settings_);
                break;
            case AnswerSource::CannotSay: return Verdict::Unknown;
        }
        return health.verdict(t, settings_.damping);
    }

    std::vector<DaemonState> daemons_;
    std::set<int> dns_;
    std::vector<Change> changes_;
    adf::config::Safety safety_;
    HysteresisSettings settings_;
    Rule rule_;
    std::mt19937_64 random_;
    double now_ = 0;
};

}  // namespace

TEST_CASE("simulation: a broken route on one observer: the healthy peer is never removed") {
    Pool pool(5, 1, 1);
    pool.rounds(10);
    pool.net.cut(0, 3, true);  // `ip route add unreachable` on host 0 for host 3
    const double start = pool.now();
    pool.rounds(60);
    CHECK(pool.changes_of(3, start) == 0);
    CHECK(pool.changes_of(0, start) == 0);
    CHECK(pool.set().size() == 5);
    pool.net.cut(0, 3, false);
    pool.rounds(60);
    CHECK(pool.changes().size() == 0);
}

TEST_CASE(
    "simulation: a host cut off from its peers but not from DNS stays out, and comes back "
    "after the heal") {
    Pool pool(5, 1, 2);
    pool.rounds(10);
    for (int p = 0; p < 5; ++p)
        if (p != 4) pool.net.cut(4, p, true);
    const double cut = pool.now();
    pool.round();
    CHECK_FALSE(pool.listed(4));  // removed in the first round
    pool.rounds(59);
    CHECK(pool.removals_of(4, cut) == 1);
    CHECK(pool.readds_of(4, cut) == 0);  // it did not fight the pool: 0 re-adds in 60 s
    CHECK_FALSE(pool.listed(4));
    for (int p = 0; p < 4; ++p) pool.net.cut(4, p, false);
    const double healed = pool.now();
    pool.rounds(3);  // rise 2: its peers check it twice, then it re-adds itself
    CHECK(pool.listed(4));
    CHECK(pool.readds_of(4, healed) == 1);
}

TEST_CASE(
    "simulation: a stopped service is removed in the round that finds it, and re-added "
    "two rounds after its return") {
    Pool pool(5, 1, 3);
    pool.rounds(10);
    pool.net.service[2] = false;
    pool.round();
    CHECK_FALSE(pool.listed(2));
    pool.rounds(20);
    pool.net.service[2] = true;
    pool.round();
    CHECK_FALSE(pool.listed(2));  // recovering: 1 of 2
    pool.rounds(2);
    CHECK(pool.listed(2));
    CHECK(pool.changes().size() == 2);
}

TEST_CASE("simulation: two silent hosts at once are both removed, never below min_records") {
    Pool pool(5, 3, 4);
    pool.on_round = [](const Pool &p) { CHECK(p.set().size() >= 3); };
    pool.rounds(10);
    pool.net.online[1] = false;
    pool.net.online[3] = false;
    pool.rounds(2);
    CHECK(pool.set() == std::set<int>{0, 2, 4});
    pool.net.online[1] = true;
    pool.net.online[3] = true;
    pool.rounds(4);
    CHECK(pool.set().size() == 5);
}

TEST_CASE(
    "simulation: a host cut off from everything is removed; one that reaches nobody "
    "removes nobody") {
    Pool pool(4, 1, 5);
    pool.rounds(5);
    pool.net.online[0] = false;  // also cut from DNS: it cannot act
    pool.rounds(5);
    CHECK(pool.set() == std::set<int>{1, 2, 3});
    pool.net.online[1] = false;  // now 2 sees 1 and 3 dead and reaches neither
    pool.net.online[3] = false;
    pool.rounds(30);
    CHECK(pool.set() == std::set<int>{1, 2, 3});  // isolated: it removes nobody
    CHECK(pool.isolated > 0);
}

TEST_CASE("simulation: a pool of two falls back to the single-observer rule") {
    Pool pool(2, 1, 6);
    pool.rounds(3);
    pool.net.service[1] = false;
    pool.round();
    CHECK(pool.set() == std::set<int>{0});
    CHECK(pool.fallbacks > 0);
}

TEST_CASE(
    "simulation: DNS unreachable for 20 s changes nothing; a daemon killed and restarted "
    "changes nothing") {
    Pool pool(5, 1, 7);
    pool.rounds(5);
    for (int h = 0; h < 5; ++h) pool.net.dns[h] = false;
    pool.rounds(20);
    for (int h = 0; h < 5; ++h) pool.net.dns[h] = true;
    pool.rounds(5);
    pool.net.killed[1] = true;
    pool.rounds(5);
    pool.net.killed[1] = false;
    pool.rounds(5);
    CHECK(pool.changes().empty());
}

TEST_CASE("simulation: a flapping service costs a bounded number of DNS changes a minute") {
    // The service of host 2 is up 3 s, down 3 s, for 30 minutes.
    Pool pool(5, 1, 8);
    pool.rounds(10);
    const double start = pool.now();
    std::vector<size_t> per_minute;
    for (int minute = 0; minute < 30; ++minute) {
        const double from = pool.now();
        for (int s = 0; s < 60; ++s) {
            pool.net.service[2] = (static_cast<int>(pool.now() - start) / 3) % 2 == 0;
            pool.round();
        }
        per_minute.push_back(pool.changes_of(2, from));
    }
    // Without damping: 20 changes a minute (a removal and a re-add every
    // 6 s). With the defaults: three flaps (3 removals, 2 re-adds), then
    // held out for as long as it flaps, since every observer keeps checking it.
    MESSAGE("DNS changes per minute: first ", per_minute[0], ", then at most ",
            *std::max_element(per_minute.begin() + 1, per_minute.end()));
    CHECK(per_minute[0] == 5);
    for (size_t m = 1; m < per_minute.size(); ++m) CHECK(per_minute[m] == 0);
    // And it comes back once it stops flapping, within max_suppress.
    pool.net.service[2] = true;
    const double stopped = pool.now();
    while (!pool.listed(2) && pool.now() - stopped < 400) pool.round();
    CHECK(pool.listed(2));
    CHECK(pool.now() - stopped <= pool.settings().damping.max_suppress + 3);
}

TEST_CASE("simulation: a fixed number of confirmations") {
    Pool pool(5, 1, 9, Rule{1});
    pool.rounds(5);
    pool.net.cut(0, 3, true);
    pool.net.cut(1, 3, true);  // two observers with broken routes to 3 confirm each other
    pool.rounds(5);
    CHECK_FALSE(pool.listed(3));
}

// ------------------------------------------------------------ randomized

namespace {

enum class Kind { ServiceStop, Silent, BrokenRoute, CutFromPeers, Flapping, DaemonKill, DnsDown };
constexpr int kKinds = 7;
const char *const kKindNames[kKinds] = {"service stop",   "silent",   "broken route",
                                        "cut from peers", "flapping", "daemon kill",
                                        "dns down"};

struct Event {
    Kind kind;
    int host = -1;    // the impaired host (for a broken route: the observer whose route broke)
    int target = -1;  // a broken route: the host it can no longer reach
    double start = 0;
    double end = 0;
    int period = 3;  // flapping: seconds up, then as many down
};

bool involves(const Event &e, int host) {
    return e.kind == Kind::DnsDown || e.host == host || e.target == host;
}

// The network as the active events make it.
void apply(Network &net, const std::vector<Event> &active, double now) {
    const int n = static_cast<int>(net.service.size());
    net = Network(n);
    for (const Event &e : active) {
        switch (e.kind) {
            case Kind::ServiceStop: net.service[e.host] = false; break;
            case Kind::Silent: net.online[e.host] = false; break;
            case Kind::BrokenRoute: net.cut(e.host, e.target, true); break;
            case Kind::CutFromPeers:
                for (int p = 0; p < n; ++p)
                    if (p != e.host) net.cut(e.host, p, true);
                break;
            case Kind::Flapping:
                net.service[e.host] = static_cast<int>((now - e.start) / e.period) % 2 == 1;
                break;
            case Kind::DaemonKill: net.killed[e.host] = true; break;
            case Kind::DnsDown:
                for (int h = 0; h < n; ++h) net.dns[h] = false;
                break;
        }
    }
}

struct Counts {
    size_t events = 0, removals = 0, readds = 0, checks = 0, violations = 0;
};

// What a round must show, checked when its time has come.
struct Expectation {
    int host;
    double by;    // when it must hold
    bool listed;  // what it must be
    std::string what;
    double since;  // the host must have been untouched by events since then
};

class Soak {
   public:
    Soak(int hosts, int min_records, uint64_t seed)
        : hosts_(hosts),
          min_records_(min_records),
          pool_(hosts, min_records, seed),
          random_(seed * 7919 + 1) {
        pool_.on_removal = [this](const Pool &p, int by, int removed) {
            check_removal(p, by, removed);
        };
    }

    Counts run(int rounds) {
        pool_.rounds(5);
        for (int i = 0; i < rounds; ++i) step();
        counts_.removals =
            static_cast<size_t>(std::count_if(pool_.changes().begin(), pool_.changes().end(),
                                              [](const Change &c) { return !c.added; }));
        counts_.readds = pool_.changes().size() - counts_.removals;
        for (const std::string &v : violations_) MESSAGE(v);
        return counts_;
    }

   private:
    void step() {
        const double now = pool_.now();
        for (auto it = active_.begin(); it != active_.end();) {
            if (it->end > now) {
                ++it;
                continue;
            }
            healed(*it);
            it = active_.erase(it);
        }
        maybe_start(now);
        apply(pool_.net, active_, now);
        pool_.round();
        check_round();
    }

    std::set<int> impaired() const {
        std::set<int> hosts;
        for (const Event &e : active_)
            if (e.kind != Kind::DnsDown) hosts.insert(e.host);
        return hosts;
    }

    bool touched(int host, double since) const {
        for (const Event &e : history_)
            if (e.end >= since && involves(e, host)) return true;
        return false;
    }

    void maybe_start(double now) {
        std::uniform_real_distribution<double> chance(0, 1);
        if (chance(random_) > 0.05) return;
        const std::set<int> busy = impaired();
        if (busy.size() >= 2) return;  // at most two impaired hosts at once
        Event e;
        e.kind = static_cast<Kind>(std::uniform_int_distribution<int>(0, kKinds - 1)(random_));
        if (e.kind == Kind::DnsDown &&
            std::any_of(active_.begin(), active_.end(),
                        [](const Event &a) { return a.kind == Kind::DnsDown; }))
            return;
        std::vector<int> free;
        for (int h = 0; h < hosts_; ++h)
            if (!busy.count(h) && !std::any_of(active_.begin(), active_.end(),
                                               [&](const Event &a) { return a.target == h; }))
                free.push_back(h);
        if (free.empty()) return;
        e.host = e.kind == Kind::DnsDown ? -1 : free[random_() % free.size()];
        if (e.kind == Kind::BrokenRoute) {
            do e.target = static_cast<int>(random_() % static_cast<uint64_t>(hosts_));
            while (e.target == e.host);
        }
        e.start = now;
        e.end = now +
                (e.kind == Kind::DnsDown ? 20 : std::uniform_int_distribution<int>(5, 90)(random_));
        e.period = std::uniform_int_distribution<int>(1, 4)(random_);
        active_.push_back(e);
        history_.push_back(e);
        ++counts_.events;
        started(e);
    }

    // What the event must cause.
    void started(const Event &e) {
        const bool outage =
            e.kind == Kind::ServiceStop || e.kind == Kind::Silent || e.kind == Kind::CutFromPeers;
        if (!outage || !pool_.listed(e.host)) return;
        // Removed within 3 rounds: the round that finds it, plus the
        // spread of the daemons' offsets; only where the floor allows it.
        expect(Expectation{e.host, e.start + 3, false, "an outage removed within 3 s", e.start});
    }

    void healed(const Event &e) {
        const bool outage =
            e.kind == Kind::ServiceStop || e.kind == Kind::Silent || e.kind == Kind::CutFromPeers;
        if (!outage) return;
        // Back within rise + 2 rounds, plus any damping the others hold it to.
        double damped = 0;
        for (int o = 0; o < hosts_; ++o)
            if (const PeerHealth *h = pool_.health(o, e.host); h && o != e.host)
                damped = std::max(damped, h->damped_for(e.end, pool_.settings().damping));
        const double bound = pool_.settings().rise + 3 + std::ceil(damped);
        expect(Expectation{e.host, e.end + bound, true, "back after the heal", e.end});
    }

    void expect(Expectation x) { expectations_.push_back(std::move(x)); }

    void check_round() {
        const double now = pool_.now();
        roomy_rounds_ =
            pool_.set().size() > static_cast<size_t>(min_records_) ? roomy_rounds_ + 1 : 0;
        if (pool_.set().empty()) violation("the pool is empty");
        for (auto it = expectations_.begin(); it != expectations_.end();) {
            if (it->by > now) {
                ++it;
                continue;
            }
            // Only for a host nothing else happened to meanwhile, with a
            // floor that allowed the removal all along.
            const bool clean = !touched_other_than(it->host, it->since, now, it->listed) &&
                               able_observers(it->host, it->since, now) >= 2;
            const bool floor = !it->listed && roomy_rounds_ < now - it->since;
            if (clean && !floor) {
                ++counts_.checks;
                if (pool_.listed(it->host) != it->listed)
                    violation("host " + std::to_string(it->host) + ": " + it->what +
                              describe_active());
            }
            it = expectations_.erase(it);
        }
        // A host cut off from its peers stays out while they see it dead.
        for (const Event &e : active_) {
            if (e.kind != Kind::CutFromPeers || pool_.now() < e.start + 3) continue;
            if (touched_other_than(e.host, e.start, now, false)) continue;
            if (able_observers(e.host, e.start, now) < 2) continue;
            if (roomy_rounds_ < 3) continue;  // the floor held it in until lately
            ++counts_.checks;
            if (pool_.listed(e.host))
                violation("host " + std::to_string(e.host) + " cut off from its peers is listed" +
                          describe_active());
        }
    }

    // Whether an event other than the one expected touched `host` (or the
    // pool's ability to act: DNS down, another host impaired so that fewer
    // than two unimpaired observers remain) between `since` and `now`.
    bool touched_other_than(int host, double since, double now, bool after_heal) const {
        size_t touching = 0;
        for (const Event &e : history_) {
            if (e.end < since || e.start > now) continue;
            if (!involves(e, host)) continue;
            // The expectation's own event: started at `since` (an outage)
            // or ended there (a heal).
            const bool own = after_heal ? e.end == since : e.start == since;
            if (own && e.host == host) continue;
            ++touching;
        }
        return touching > 0;
    }

    // How many hosts other than `host` no event touched between `since` and
    // `now`: the observers that can decide together.
    int able_observers(int host, double since, double now) const {
        int able = 0;
        for (int h = 0; h < hosts_; ++h) {
            if (h == host) continue;
            const bool hit = std::any_of(history_.begin(), history_.end(), [&](const Event &e) {
                return e.end >= since && e.start <= now && involves(e, h);
            });
            if (!hit) ++able;
        }
        return able;
    }

    void check_removal(const Pool &p, int by, int removed) {
        if (p.set().size() < static_cast<size_t>(min_records_)) violation("below min_records");
        // A healthy peer that a majority sees alive is never removed.
        // Healthy: its service up and online, and no outage or flapping of
        // its own within max_suppress + 100 s (damping may hold out a host
        // that flapped, by design).
        if (!p.net.service[removed] || !p.net.online[removed]) return;
        const double since = p.now() - p.settings().damping.max_suppress - 100;
        for (const Event &e : history_) {
            const bool own_trouble =
                e.host == removed && e.kind != Kind::BrokenRoute && e.kind != Kind::DaemonKill;
            if (own_trouble && e.end >= since) return;
        }
        size_t observers = 0, seeing_alive = 0;
        for (int o = 0; o < hosts_; ++o) {
            if (o == removed || !p.net.online[o] || !p.net.service[o] || p.net.killed[o]) continue;
            ++observers;
            if (p.net.passes_check(o, removed)) ++seeing_alive;
        }
        if (2 * seeing_alive > observers)
            violation("host " + std::to_string(removed) + ", healthy and seen alive by " +
                      std::to_string(seeing_alive) + " of " + std::to_string(observers) +
                      " observers, was removed by " + std::to_string(by) + ": " +
                      p.last_decision.explanation + describe_active());
    }

    std::string describe_active() const {
        std::string out;
        for (const Event &e : history_)
            if (e.end >= pool_.now() - 30)
                out += std::string("; ") + kKindNames[static_cast<int>(e.kind)] + " host " +
                       std::to_string(e.host) + " target " + std::to_string(e.target) + " from " +
                       std::to_string(e.start) + " to " + std::to_string(e.end);
        return out;
    }

    void violation(const std::string &what) {
        ++counts_.violations;
        if (violations_.size() < 10)
            violations_.push_back("at " + std::to_string(pool_.now()) + " s: " + what);
    }

    int hosts_;
    int min_records_;
    Pool pool_;
    std::mt19937_64 random_;
    std::vector<Event> active_, history_;
    std::vector<Expectation> expectations_;
    std::vector<std::string> violations_;
    Counts counts_;
    int roomy_rounds_ = 0;  // rounds in a row that ended above min_records
};

}  // namespace

// 32 schedules of 3,000 rounds: 5, 7 and 3 hosts, min_records 1 to 3, a new
// outage in 5 % of the rounds (at most two impaired hosts at once) lasting
// 5 to 90 s. Invariants: the pool is never empty and never below
// min_records by a removal; a healthy host (no outage or flapping of its own
// within max_suppress + 100 s) that a majority of the running observers
// reach is never removed; a stopped, silent or cut-off host is gone within
// 3 s, a cut-off host stays out while it is cut off, and each is back within
// rise + 3 s of the heal (plus any damping the others hold it to) - checked
// where the floor allowed the removal, nothing else touched the host
// meanwhile, and at least two observers were untouched.
TEST_CASE("simulation: randomized outages over thousands of rounds keep every invariant") {
    Counts total;
    for (const auto &[hosts, min_records] :
         {std::pair{5, 1}, std::pair{5, 3}, std::pair{7, 2}, std::pair{3, 1}}) {
        for (uint64_t seed = 1; seed <= 8; ++seed) {
            CAPTURE(hosts);
            CAPTURE(seed);
            const Counts c = Soak(hosts, min_records, seed).run(3000);
            CHECK(c.violations == 0);
            total.events += c.events;
            total.removals += c.removals;
            total.readds += c.readds;
            total.checks += c.checks;
            total.violations += c.violations;
        }
    }
    MESSAGE("events ", total.events, ", removals ", total.removals, ", re-adds ", total.readds,
            ", bounds checked ", total.checks, ", violations ", total.violations);
    CHECK(total.events > 1000);
    CHECK(total.checks > 1000);
}
