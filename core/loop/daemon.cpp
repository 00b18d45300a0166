#include "loop/daemon.h"

#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include <fmt/format.h>

#include "config/config.h"
#include "dnsread/direct_reader.h"
#include "events/events.h"
#include "isolation/check_runner.h"
#include "logging/log.h"
#include "loop/peering.h"
#include "loop/round_record.h"
#include "loop/safety.h"
#include "loop/services.h"
#include "loop/signals.h"
#include "metrics/metrics.h"
#include "peer/agreement.h"
#include "plugin/kinds.h"
#include "state/store.h"
#include "systemd/notify.h"
#include "util/clock.h"
#include "util/exit_codes.h"

namespace adf::loop {
namespace {

using events::Event;
using events::Kind;
using plugin::ReadRecord;

// How long an exiting daemon gives its last notifications (and textfile)
// to go out: a receiver that is down or hangs delays the exit by this much
// at most.
constexpr double kDrainSeconds = 5;

// Skipped: the round ends early without judging anyone (a self-check that
// could not be made); the next round starts on schedule.
enum class Step { Ok, SelfCheckFailed, Stopped, Skipped };

bool contains(const std::vector<ReadRecord> &records, const Address &address) {
    return std::any_of(records.begin(), records.end(),
                       [&](const ReadRecord &r) { return r.address == address; });
}

std::vector<std::string> addresses_of(const std::vector<ReadRecord> &records) {
    std::vector<std::string> out;
    for (const auto &r : records) out.push_back(r.address.text());
    return out;
}

std::vector<std::string> addresses_of(const std::vector<Address> &addresses) {
    std::vector<std::string> out;
    for (const auto &a : addresses) out.push_back(a.text());
    return out;
}

// The set for a log line: every address of a small set; the first ones and
// the count of a large pool, whose log must not grow with its square.
std::string list_addresses(const std::vector<ReadRecord> &records) {
    constexpr size_t kShown = 16;
    std::string out;
    for (size_t i = 0; i < records.size() && i < kShown; ++i)
        out += (out.empty() ? "" : ", ") + records[i].address.text();
    if (records.size() > kShown) out += fmt::format(", ... ({} records)", records.size());
    return out.empty() ? "(none)" : out;
}

// An event about one record set (and a peer of it).
Event about(Kind kind, std::string message, const std::string &fqdn, int family,
            const std::string &peer = "", const std::string &plugin = "",
            const std::string &reason = "") {
    Event e = events::make(kind, std::move(message));
    e.fqdn = fqdn;
    e.family = family;
    e.peer = peer;
    e.plugin = plugin;
    e.reason = reason;
    return e;
}

events::Refusal refusal_of(safety::Removal verdict) {
    switch (verdict) {
        case safety::Removal::LastRecord: return events::Refusal::LastRecord;
        case safety::Removal::BelowMinimum: return events::Refusal::MinRecords;
        case safety::Removal::RoundLimit: return events::Refusal::RoundLimit;
        default: return events::Refusal::None;
    }
}

state::Verdict verdict_of(const isolation::Verdict &v) {
    return v.alive ? state::Verdict::Alive
           : v.host_fault ? state::Verdict::NotJudged
                          : state::Verdict::Dead;
}

// A config with its plugins, ready to run. The check plugin lives in the
// check helper, which `checks` started for it.
struct Setup : plugin::Setup {
    std::unique_ptr<isolation::CheckService> checks;
};

Setup load_setup(const std::string &path) {
    Setup s;
    // Every section is created here, the check's too, so that a config's
    // errors are all reported at once, as check-config reports them; the
    // check instance then goes at once: checks run in the helper, which
    // creates its own.
    static_cast<plugin::Setup &>(s) = plugin::load_setup(path);
    s.plugins.check.reset();
    s.checks = std::make_unique<isolation::CheckService>(
        isolation::HelperSetup{s.config.check, plugin::plugin_dirs_of(s.config), s.config.logging});
    return s;
}

class Daemon {
   public:
    Daemon(Setup setup, RunOptions options)
        : setup_(std::move(setup)),
          options_(std::move(options)),
          events_(cfg().reporting.summary_interval),
          heartbeat_(cfg().reporting.heartbeat),
          services_(events_, metrics_, store_) {
        events_.observe(&metrics_);
        events_.observe(&store_);
        events_.observe(&record_);
    }

    ~Daemon() { events_.remove(&record_); }

    // Opens the listeners; false (logged) when one the config names cannot be opened.
    bool start_services() {
        try {
            services_.apply(services_config(cfg()));
            if (cfg().peers) start_peering(std::make_unique<Peering>(cfg(), metrics_), cfg());
            return true;
        } catch (const std::exception &e) {
            log::critical(fmt::format("cannot start: {}", e.what()), {"", "", "", "", "start_failed"});
            return false;
        }
    }

    int run() {
        describe_in_store();
        events_.emit(events::make(
            Kind::Started, fmt::format("starting: {} for {}{}", describe_plugins(),
                                       fmt::join(cfg().fqdns, ", "),
                                       options_.dry_run ? " (dry run: no change will be made)" : "")));
        double next = timer().next_check_time(monotonic_now());
        bool ready = false;
        for (;;) {
            if (!wait_until(next)) break;
            if (signals::take_reload_request()) {
                reload(ready);
                next = timer().next_check_time(monotonic_now());
                continue;
            }
            const double following = timer().next_check_time(monotonic_now());
            const double started = monotonic_now();
            interval_ = std::max(0.0, following - started);
            record_.begin(++rounds_);
            const Step step = round();
            const double seconds = monotonic_now() - started;
            log::debug(fmt::format("round finished in {:.3f} s: {}", seconds, record_.state_line()),
                       {"", "", "", "", "round_finished"});
            finish_round(seconds, following, step);
            if (!ready) systemd_.ready(status_line());
            else systemd_.status(status_line());
            ready = true;
            if (step == Step::SelfCheckFailed) return exit_after_failed_self_check();
            if (step == Step::Stopped) break;
            if (options_.once) {
                services_.drain(kDrainSeconds);
                return record_.exit_code();
            }
            const double late = monotonic_now() - following;
            if (late > 0.001)
                events_.emit(events::make(Kind::RoundLate,
                                          fmt::format("we are late by {:.3f} s: the round took "
                                                      "longer than the timer allows", late)));
            else
                events_.resolve(Kind::RoundLate);
            next = following;
        }
        const std::string why =
            signals::stop_requested()
                ? fmt::format("stopping on signal {} ({}){}", signals::stop_signal(),
                              strsignal(signals::stop_signal()),
                              cancelled_ == 0 ? ""
                                              : fmt::format(" during a round: {} check(s) were "
                                                            "cancelled", cancelled_))
                : std::string("stopping");
        systemd_.stopping(why);
        if (signals::stop_requested()) events_.emit(events::make(Kind::Stopping, why));
        services_.drain(kDrainSeconds);
        return kExitOk;
    }

   private:
    const config::Config &cfg() const { return setup_.config; }
    plugin::Timer &timer() { return *setup_.plugins.timer; }
    plugin::DnsBackend &dns() const { return *setup_.plugins.dns; }

    std::string describe_plugins() const {
        const auto &p = setup_.plugins;
        return fmt::format("dns {}, ipaddr {}, check {} (helper pid {}), timer {}", p.dns->name(),
                           p.ipaddr->name(), check_name(), setup_.checks->helper_pid(),
                           p.timer->name());
    }

    const std::string &check_name() const { return setup_.checks->plugin_name(); }

    void describe_in_store() {
        store_.update([&](state::Snapshot &s) {
            s.version = ADF_VERSION;
            s.pid = static_cast<long>(getpid());
            s.config_path = options_.config_path;
            s.dry_run = options_.dry_run;
            if (!s.started.is_set()) s.started = stamp_now();
            s.plugins = {{"dns", dns().name()},
                         {"ipaddr", setup_.plugins.ipaddr->name()},
                         {"check", check_name()},
                         {"timer", setup_.plugins.timer->name()}};
            if (cfg().read_from) s.plugins["read_from"] = "DNS servers";
            // Sets of names or families the config no longer has are dropped.
            s.sets.erase(std::remove_if(s.sets.begin(), s.sets.end(),
                                        [&](const state::SetState &set) {
                                            return std::find(cfg().fqdns.begin(), cfg().fqdns.end(),
                                                             set.fqdn) == cfg().fqdns.end() ||
                                                   std::find(cfg().families.begin(),
                                                             cfg().families.end(),
                                                             set.family) == cfg().families.end();
                                        }),
                         s.sets.end());
        });
    }

    // What the services get of a config: `run --once` answers no `status`
    // (nobody could ask a process that is gone after one round).
    config::Config services_config(const config::Config &config) const {
        config::Config out = config;
        if (options_.once) out.control.socket.clear();
        return out;
    }

    std::string status_line() { return state::one_line(store_.snapshot(), stamp_now()); }

    // Waits for monotonic `deadline` while feeding systemd's watchdog: the
    // loop is waiting for its schedule, which is progress. False: stop.
    bool wait_until(double deadline) {
        for (;;) {
            systemd_.progress(monotonic_now());
            if (!signals::sleep_until(std::min(deadline, systemd_.next_ping()))) return false;
            if (signals::reload_requested() || monotonic_now() >= deadline) return true;
        }
    }

    // A step of a round is done: the watchdog may be fed.
    void progress() { systemd_.progress(monotonic_now()); }

    void finish_round(double seconds, double following, Step step) {
        const Stamp end = stamp_now();
        const bool good = record_.exit_code() == kExitOk && step != Step::SelfCheckFailed;
        store_.update([&](state::Snapshot &s) {
            s.rounds = rounds_;
            s.last_round = end;
            s.last_round_seconds = seconds;
            if (good) s.last_good_round = end;
            s.next_round = {following, end.wall + (following - end.monotonic)};
        });
        metrics_.round_done(seconds, good, end);
        metrics_.update_sets(store_.snapshot());
        services_.after_round();
        const auto beat = heartbeat_.after_round(record_, end.monotonic);
        if (record_.changed()) events_.emit(record_.summary(seconds));
        else if (beat) events_.emit(*beat);
    }

    // The new config's plugins, check helper and listeners are all up before
    // the old ones go, so a refused reload leaves the running setup untouched.
    void reload(bool ready) {
        systemd_.reloading();
        try {
            Setup fresh = load_setup(options_.config_path);
            std::unique_ptr<Peering> peering;
            if (fresh.config.peers && !peering_)
                peering = std::make_unique<Peering>(fresh.config, metrics_);
            services_.apply(services_config(fresh.config));
            reload_peering(fresh.config, std::move(peering));
            setup_ = std::move(fresh);
            log::configure(cfg().logging);
            events_.set_summary_interval(cfg().reporting.summary_interval);
            heartbeat_.set_interval(cfg().reporting.heartbeat);
            last_own_.clear();
            describe_in_store();
            events_.emit(events::make(Kind::ConfigReloaded,
                                      fmt::format("configuration reloaded from {}: {}",
                                                  options_.config_path, describe_plugins())));
        } catch (const std::exception &e) {
            events_.emit(events::make(Kind::ReloadRefused,
                                      fmt::format("reload refused, the running configuration "
                                                  "stays: {}", e.what())));
        }
        // READY=1 ends the reload; before the first round it waits for it.
        if (ready) systemd_.ready(status_line());
    }

    // The peer server joins the service thread; the loop asks through `peering`.
    void start_peering(std::unique_ptr<Peering> peering, const config::Config &config) {
        peering_ = std::move(peering);
        services_.set_participant("peers", peering_->take_server());
        log::info(fmt::format("answering the pool's questions on UDP port {}; removals need the "
                              "other observers' agreement ({})",
                              peering_->port(),
                              config.peers->agreement > 0
                                  ? fmt::format("{} confirmations", config.peers->agreement)
                                  : std::string("a majority")),
                  {"", "", "", "", "peers_listening"});
    }

    // A reload: a fresh `peering` (peers newly configured) starts, a section
    // gone stops the server, and one that stays takes what it can at once.
    void reload_peering(const config::Config &fresh, std::unique_ptr<Peering> peering) {
        if (peering) {
            start_peering(std::move(peering), fresh);
        } else if (!fresh.peers && peering_) {
            services_.set_participant("peers", nullptr);
            peering_.reset();
            log::info("peers section gone: each removal is decided by this daemon alone again",
                      {"", "", "", "", "peers_stopped"});
        } else if (peering_) {
            const std::string kept = peering_->reconfigure(fresh);
            if (!kept.empty()) log::warning(kept, {"", "", "", "", "peers_restart_needed"});
        }
    }

    int exit_after_failed_self_check() {
        const double delay = cfg().safety.self_check_failure_delay;
        log::critical(fmt::format("self-check failed; waiting {:g} s and exiting", delay),
                      {"", "", "", "", "exiting"});
        systemd_.stopping("self-check failed; exiting");
        wait_until(monotonic_now() + delay);
        services_.drain(kDrainSeconds);
        return kExitSelfCheckFailed;
    }

    // One round over every name and family.
    Step round() {
        const std::map<int, Address> own = own_addresses();
        if (own.empty()) return Step::Ok;
        std::vector<Address> selves;
        for (const auto &[family, address] : own) selves.push_back(address);
        const Step self = self_check(selves);
        if (self == Step::Skipped) return Step::Ok;
        if (self != Step::Ok) return self;
        if (peering_) {
            isolation::Limits limits;
            limits.timeout = timer().check_timeout();
            limits.attempts = timer().attempts();
            peering_->begin_round(interval_, limits, own);
        }
        for (const auto &fqdn : cfg().fqdns)
            for (const auto &[family, address] : own) {
                const Step step = reconcile(fqdn, family, address);
                if (step != Step::Ok) return step == Step::Skipped ? Step::Ok : step;
            }
        return Step::Ok;
    }

    std::map<int, Address> own_addresses() {
        std::map<int, Address> own;
        const std::string &plugin_name = setup_.plugins.ipaddr->name();
        for (int family : cfg().families) {
            auto answer = setup_.plugins.ipaddr->own_address(family);
            progress();
            if (answer.status == ADF_ABSENT) continue;
            if (!answer.ok()) {
                events_.emit(about(Kind::OwnAddressFailed,
                                   fmt::format("cannot tell my own IPv{} address; its records are "
                                               "left alone this round", family),
                                   "", family, "", plugin_name, answer.error));
                continue;
            }
            events_.resolve(Kind::OwnAddressFailed, "", family);
            const Address address = *answer.address;
            auto last = last_own_.find(family);
            if (last == last_own_.end())
                events_.emit(about(Kind::OwnAddress,
                                   fmt::format("my IPv{} address is {}", family, address.text()),
                                   "", family, address.text(), plugin_name));
            else if (last->second != address)
                events_.emit(about(Kind::OwnAddressChanged,
                                   fmt::format("my IPv{} address changed from {} to {}", family,
                                               last->second.text(), address.text()),
                                   "", family, address.text(), plugin_name));
            last_own_[family] = address;
            own[family] = address;
        }
        if (own.empty())
            events_.emit(about(Kind::OwnAddressFailed,
                               "no own address of any managed family this round; nothing is done",
                               "", 0, "", plugin_name));
        else
            events_.resolve(Kind::OwnAddressFailed);
        return own;
    }

    // How a check or a question to the peers is cut short by a stop signal,
    // and feeds the watchdog while it lasts.
    isolation::Interrupt interrupt() {
        return isolation::Interrupt{signals::wake_fd(),
                                    [] {
                                        signals::drain();
                                        return signals::stop_requested();
                                    },
                                    [this] { progress(); }};
    }

    // Checks through the helper. A SIGTERM cuts the checks short: they are
    // counted for the one line that says the daemon stops, never logged one
    // by one. Every verdict that comes in feeds the watchdog.
    std::vector<isolation::Verdict> check(const std::vector<Address> &addresses) {
        isolation::Limits limits;
        limits.timeout = timer().check_timeout();
        limits.attempts = timer().attempts();
        limits.parallel = static_cast<unsigned>(cfg().max_parallel_checks);
        auto result = isolation::check_all(*setup_.checks, addresses, limits, interrupt());
        progress();
        cancelled_ += result.cancelled;
        if (result.cancelled == 0) {
            size_t alive = 0, dead = 0, not_judged = 0;
            for (const auto &v : result.verdicts) {
                alive += v.alive;
                dead += !v.alive && !v.host_fault;
                not_judged += !v.alive && v.host_fault;
            }
            metrics_.count_checks(check_name(), alive, dead, not_judged);
        }
        return std::move(result.verdicts);
    }

    // What a peer's check said, for the log and the store.
    void report_peer(const std::string &fqdn, int family, const isolation::Verdict &v) {
        const std::string peer = v.address.text();
        store_.set_verdict(fqdn, family, peer, verdict_of(v), v.reason(), stamp_now());
        if (v.alive && !v.failures.empty())
            events_.emit(about(Kind::PeerCheckFlaky,
                               fmt::format("check of {} failed {} time(s) before passing", peer,
                                           v.failures.size()),
                               fqdn, family, peer, check_name(), v.reason()));
        else if (v.host_fault)
            events_.emit(about(Kind::PeerNotJudged,
                               fmt::format("check of {} could not be made; it is not judged this "
                                           "round", peer),
                               fqdn, family, peer, check_name(), v.reason()));
        else if (!v.alive)
            events_.emit(about(Kind::PeerCheckFailed,
                               fmt::format("check of {} failed {} time(s), giving up", peer,
                                           v.failures.size()),
                               fqdn, family, peer, check_name(), v.reason()));
        if (v.alive) events_.resolve_peer(fqdn, family, peer);
        else if (!v.host_fault) events_.resolve(Kind::PeerNotJudged, fqdn, family, peer);
    }

    // A self-check the host could not make (the helper died) judges nothing:
    // the round ends without changes instead of the daemon exiting.
    Step self_check(const std::vector<Address> &selves) {
        const auto verdicts = check(selves);
        if (signals::stop_requested()) return Step::Stopped;
        Step step = Step::Ok;
        for (const auto &v : verdicts) {
            store_.set_self_check(v.address.family, v.address.text(), verdict_of(v), v.reason(),
                                  stamp_now());
            if (v.alive) continue;
            if (v.host_fault) {
                events_.emit(about(Kind::SelfCheckNotMade,
                                   fmt::format("self-check of my own address {} could not be "
                                               "made; nothing is changed this round",
                                               v.address.text()),
                                   "", v.address.family, v.address.text(), check_name(),
                                   v.reason()));
                if (step == Step::Ok) step = Step::Skipped;
                continue;
            }
            events_.emit(about(Kind::SelfCheckFailed,
                               fmt::format("self-check of my own address {} failed",
                                           v.address.text()),
                               "", v.address.family, v.address.text(), check_name(), v.reason()));
            step = Step::SelfCheckFailed;
        }
        if (step == Step::Ok) events_.resolve(Kind::SelfCheckNotMade);
        return step;
    }

    std::optional<std::vector<ReadRecord>> read(const std::string &fqdn, int family) {
        return records_or_report(dns().read(fqdn, family), fqdn, family, dns().name());
    }

    // The read a round starts from. With read_from set it is a plain DNS
    // query to the zone's authoritative servers, so a steady pool spends no
    // backend API calls (Route 53 limits them per account). An answer that
    // lags behind a write (this daemon's or another's) is harmless: the
    // conditional write it leads to conflicts, and the set is read again from
    // the backend (add_self() at once, else the next round). The reads right
    // before a removal and in restore_self_after_race() stay on the backend,
    // which the conditional writes are checked against.
    std::optional<std::vector<ReadRecord>> read_for_round(const std::string &fqdn, int family) {
        if (!cfg().read_from) return read(fqdn, family);
        return records_or_report(dnsread::DirectReader(*cfg().read_from).read(fqdn, family), fqdn,
                                 family, "");
    }

    // The backend a call went to: the dns plugin, or read_from's servers.
    static std::string backend_name(const std::string &plugin_name) {
        return plugin_name.empty() ? "read_from" : plugin_name;
    }

    // A backend call returned: the store's health and, when it failed, the
    // provider_error event the metrics count.
    void backend_result(const std::string &plugin_name, const char *operation,
                        const plugin::Outcome &outcome, const std::string &fqdn, int family) {
        progress();
        const std::string backend = backend_name(plugin_name);
        store_.backend_result(backend, operation, outcome.ok() || outcome.status == ADF_CONFLICT,
                              outcome.error, stamp_now());
        if (outcome.ok() || outcome.status == ADF_CONFLICT) return;
        Event e = about(Kind::ProviderError,
                        fmt::format("{}: {} failed ({})", backend, operation,
                                    plugin::status_name(outcome.status)),
                        fqdn, family, "", backend, outcome.error);
        e.operation = operation;
        e.status = plugin::status_name(outcome.status);
        events_.emit(e);
    }

    std::optional<std::vector<ReadRecord>> records_or_report(plugin::DnsBackend::Read result,
                                                             const std::string &fqdn, int family,
                                                             const std::string &plugin_name) {
        backend_result(plugin_name, "read", result, fqdn, family);
        if (!result.ok()) {
            Event e = about(Kind::ReadFailed,
                            fmt::format("cannot read the {} records: {} (nothing is changed; "
                                        "retrying next round)",
                                        record_type(family), plugin::status_name(result.status)),
                            fqdn, family, "", plugin_name, result.error);
            e.operation = "read";
            e.status = plugin::status_name(result.status);
            events_.emit(e);
            return std::nullopt;
        }
        events_.resolve(Kind::ReadFailed, fqdn, family);
        return std::move(result.records);
    }

    // Makes one record set right: self present, dead peers out.
    Step reconcile(const std::string &fqdn, int family, const Address &self) {
        auto records = read_for_round(fqdn, family);
        if (!records) return Step::Ok;
        store_.set_records(fqdn, family, self.text(), addresses_of(*records), stamp_now());
        if (peering_) return reconcile_with_peers(fqdn, family, self, *records);
        if (contains(*records, self)) events_.resolve(Kind::SelfAddFailed, fqdn, family);
        else if (!add_self(fqdn, family, self, *records)) return Step::Ok;
        std::vector<Address> peers;
        std::set<std::string> listed;
        for (const auto &r : *records)
            if (r.address != self) {
                peers.push_back(r.address);
                listed.insert(r.address.text());
            }
        events_.forget_peers_except(fqdn, family, listed);
        record_.add_set(fqdn, family, records->size());
        if (peers.empty()) return Step::Ok;
        const auto verdicts = check(peers);
        if (signals::stop_requested()) return Step::Stopped;
        // Peers the host could not check are neither alive nor dead: they
        // count for nothing this round, not even for the partition guard.
        std::vector<isolation::Verdict> dead;
        size_t judged = 0, not_judged = 0;
        for (const auto &v : verdicts) {
            report_peer(fqdn, family, v);
            if (v.host_fault) {
                ++not_judged;
                continue;
            }
            ++judged;
            if (!v.alive) dead.push_back(v);
        }
        record_.add_checks(peers.size(), dead.size(), not_judged);
        if (dead.empty()) return Step::Ok;
        if (!guard_allows_removal(fqdn, family, judged, dead, *records)) return Step::Ok;
        return remove_dead(fqdn, family, self, dead, *records);
    }

    // Makes one record set right when the pool decides together (README,
    // "Deciding together"): every listed peer is checked (and those that
    // left recently, for their flap penalty), this host adds itself back
    // only when its peers see it alive, and a peer this host counts out
    // goes only when the other observers agree.
    Step reconcile_with_peers(const std::string &fqdn, int family, const Address &self,
                              std::vector<ReadRecord> &records) {
        std::vector<Address> listed;
        std::set<std::string> listed_peers;
        for (const auto &r : records) {
            listed.push_back(r.address);
            if (r.address != self) listed_peers.insert(r.address.text());
        }
        events_.forget_peers_except(fqdn, family, listed_peers);
        record_.add_set(fqdn, family, records.size());
        const std::vector<Address> to_check = peering_->to_check(fqdn, family, listed, self);
        std::vector<isolation::Verdict> verdicts;
        if (!to_check.empty()) verdicts = check(to_check);
        if (signals::stop_requested()) return Step::Stopped;
        peering_->observe(fqdn, family, verdicts);
        Judged judged;
        for (const auto &v : verdicts) {
            if (!contains(records, v.address)) continue;  // left the set: watched for damping only
            judge(fqdn, family, v, judged);
        }
        record_.add_checks(listed_peers.size(), judged.dead.size(), judged.not_judged);
        if (!contains(records, self)) {
            if (!peers_let_me_back(fqdn, family, self, listed, judged.passes)) return Step::Ok;
            if (!add_self(fqdn, family, self, records)) return Step::Ok;
        }
        if (judged.out.empty()) return Step::Ok;
        return remove_agreed(fqdn, family, self, listed, judged, records);
    }

    // This round's verdicts on the listed peers, as the agreement needs them.
    struct Judged {
        std::map<Address, bool> passes;          // this host's checks of each peer
        std::vector<isolation::Verdict> dead;    // failed this round
        std::vector<isolation::Verdict> out;     // counted out (hysteresis): removal candidates
        size_t judged = 0;
        size_t not_judged = 0;
    };

    void judge(const std::string &fqdn, int family, const isolation::Verdict &v, Judged &j) {
        report_peer(fqdn, family, v);
        j.passes[v.address] = v.alive;
        if (v.host_fault) {
            ++j.not_judged;
            return;
        }
        ++j.judged;
        if (!v.alive) j.dead.push_back(v);
        if (!peer::wants_removed(peering_->verdict(fqdn, family, v.address))) return;
        isolation::Verdict candidate = v;
        // Held out for flapping while its check passes: say why it goes.
        if (candidate.failures.empty())
            candidate.failures.push_back(peering_->explain(fqdn, family, v.address));
        j.out.push_back(candidate);
    }

    // Whether this host, absent from the set, adds itself back: not while a
    // majority of its peers see it out ("a host does not fight the pool").
    bool peers_let_me_back(const std::string &fqdn, int family, const Address &self,
                           const std::vector<Address> &listed,
                           const std::map<Address, bool> &passes) {
        const peer::SelfDecision d =
            peering_->consult_self(fqdn, family, self, listed, passes, interrupt());
        if (d.outcome == peer::SelfOutcome::StayOut) {
            Event e = about(Kind::SelfFenced, d.message, fqdn, family, self.text(), "", d.message);
            e.set_after = addresses_of(listed);
            events_.emit(e);
            return false;
        }
        events_.resolve(Kind::SelfFenced, fqdn, family);
        // A set that holds nobody else (a pool starting) leaves nobody to
        // ask: nothing falls back from anything.
        const bool alone = std::all_of(listed.begin(), listed.end(),
                                       [&](const Address &a) { return a == self; });
        if (d.outcome == peer::SelfOutcome::FallBack && !alone)
            fallback(fqdn, family, d.why, d.message, self.text());
        else
            log::info(d.message, {fqdn, self.text(), "", "", "self_confirmed", family});
        return true;
    }

    void fallback(const std::string &fqdn, int family, peer::Fallback why,
                  const std::string &explanation, const std::string &peer) {
        if (!peering_->first_fallback(fqdn, family, why)) return;
        events_.emit(about(Kind::AgreementFallback,
                           fmt::format("{} (said once per set and reason)", explanation), fqdn,
                           family, peer, "", explanation));
    }

    // Asks the other observers about every peer counted out, and removes
    // those the rule lets go (a fallback: those today's rule lets go).
    Step remove_agreed(const std::string &fqdn, int family, const Address &self,
                       const std::vector<Address> &listed, const Judged &judged,
                       const std::vector<ReadRecord> &records) {
        std::vector<Address> candidates;
        for (const auto &v : judged.out) candidates.push_back(v.address);
        const auto decisions = peering_->consult_removals(fqdn, family, self, listed, candidates,
                                                          judged.passes, interrupt());
        if (signals::stop_requested()) return Step::Stopped;
        std::vector<isolation::Verdict> agreed, fallen_back;
        for (size_t i = 0; i < decisions.size(); ++i) {
            const peer::Decision &d = decisions[i];
            const isolation::Verdict &v = judged.out[i];
            const std::string peer = v.address.text();
            switch (d.outcome) {
                case peer::Outcome::Remove:
                    events_.emit(about(Kind::RemovalConfirmed,
                                       fmt::format("peer {} is dead: {}", peer, d.explanation),
                                       fqdn, family, peer, "", d.explanation));
                    agreed.push_back(v);
                    break;
                case peer::Outcome::Keep:
                    refuse_by_peers(fqdn, family, peer, events::Refusal::NotConfirmed,
                                    d.explanation, records);
                    break;
                case peer::Outcome::Isolated:
                    refuse_by_peers(fqdn, family, peer, events::Refusal::Isolated, d.explanation,
                                    records);
                    break;
                case peer::Outcome::FallBack:
                    fallback(fqdn, family, d.why, d.explanation, peer);
                    if (!v.alive) fallen_back.push_back(v);
                    break;
            }
        }
        if (!fallen_back.empty() &&
            guard_allows_removal(fqdn, family, judged.judged, judged.dead, records))
            agreed.insert(agreed.end(), fallen_back.begin(), fallen_back.end());
        if (agreed.empty()) return Step::Ok;
        std::sort(agreed.begin(), agreed.end(),
                  [](const isolation::Verdict &a, const isolation::Verdict &b) {
                      return a.address < b.address;
                  });
        return remove_dead(fqdn, family, self, agreed, records);
    }

    void refuse_by_peers(const std::string &fqdn, int family, const std::string &peer,
                         events::Refusal refusal, const std::string &explanation,
                         const std::vector<ReadRecord> &records) {
        Event e = about(Kind::RemovalRefused,
                        fmt::format("peer {} seems dead to me, but it stays: {}", peer, explanation),
                        fqdn, family, peer, "", explanation);
        e.refusal = refusal;
        if (refusal == events::Refusal::NotConfirmed) e.level = log::Level::Warning;
        e.set_after = addresses_of(records);
        events_.emit(e);
    }

    // Adds this host's record, conditional on `records` (updated on success).
    // A conflict is ordinary contention when daemons start together: read
    // again and retry at once instead of a round later.
    bool add_self(const std::string &fqdn, int family, const Address &self,
                  std::vector<ReadRecord> &records) {
        const auto before = addresses_of(records);
        if (options_.dry_run) {
            insert_sorted(records, own_record(fqdn, self, records));
            Event e = about(Kind::WouldAddSelf,
                            fmt::format("dry run: would add myself ({}) into DNS", self.text()),
                            fqdn, family, self.text(), dns().name());
            e.set_before = before;
            e.set_after = addresses_of(records);
            events_.emit(e);
            return true;
        }
        constexpr int kAttempts = 3;
        for (int attempt = 1;; ++attempt) {
            const ReadRecord mine = own_record(fqdn, self, records);
            const auto outcome = dns().add(fqdn, family, records, mine);
            backend_result(dns().name(), "add", outcome, fqdn, family);
            if (outcome.ok()) {
                Event e = about(Kind::SelfAdded,
                                fmt::format("added myself ({}) into DNS", self.text()), fqdn,
                                family, self.text(), dns().name());
                e.set_before = addresses_of(records);
                insert_sorted(records, mine);
                e.set_after = addresses_of(records);
                events_.emit(e);
                events_.resolve(Kind::SelfAddFailed, fqdn, family);
                store_.set_records(fqdn, family, self.text(), addresses_of(records), stamp_now());
                return true;
            }
            if (outcome.status == ADF_CONFLICT) {
                Event conflict = about(Kind::WriteConflict,
                                       "the record set changed while adding myself; reading it "
                                       "again",
                                       fqdn, family, self.text(), dns().name(), outcome.error);
                conflict.operation = "add";
                if (attempt < kAttempts) conflict.level = log::Level::Info;
                events_.emit(conflict);
            }
            if (outcome.status != ADF_CONFLICT || attempt == kAttempts) {
                Event e = about(Kind::SelfAddFailed,
                                fmt::format("cannot add myself ({}) into DNS: {} (retrying next "
                                            "round)",
                                            self.text(), plugin::status_name(outcome.status)),
                                fqdn, family, self.text(), dns().name(), outcome.error);
                if (outcome.status == ADF_CONFLICT) e.level = log::Level::Warning;
                e.operation = "add";
                e.status = plugin::status_name(outcome.status);
                e.set_after = addresses_of(records);
                events_.emit(e);
                return false;
            }
            auto fresh = read(fqdn, family);
            if (!fresh) return false;
            records = *fresh;
            if (contains(records, self)) return true;
        }
    }

    ReadRecord own_record(const std::string &fqdn, const Address &self,
                          const std::vector<ReadRecord> &records) const {
        ReadRecord mine;
        mine.address = self;
        mine.ttl = records.empty() ? 0 : records.front().ttl;
        if (dns().has_notes())
            mine.note = config::render_note(cfg().note, cfg().hostname, fqdn, self.text());
        return mine;
    }

    static void insert_sorted(std::vector<ReadRecord> &records, const ReadRecord &record) {
        records.push_back(record);
        std::sort(records.begin(), records.end(),
                  [](const ReadRecord &a, const ReadRecord &b) { return a.address < b.address; });
    }

    void refuse_for_guard(const std::string &fqdn, int family, std::string message,
                          const std::vector<ReadRecord> &records, const std::string &peer = "",
                          const std::string &reason = "") {
        Event e = about(Kind::RemovalRefused, std::move(message), fqdn, family, peer,
                        peer.empty() ? "" : check_name(), reason);
        e.refusal = events::Refusal::PartitionGuard;
        e.set_after = addresses_of(records);
        if (e.reason.empty()) e.reason = e.message;
        events_.emit(e);
    }

    bool guard_allows_removal(const std::string &fqdn, int family, size_t peers,
                              const std::vector<isolation::Verdict> &dead,
                              const std::vector<ReadRecord> &records) {
        const auto &safety = cfg().safety;
        if (!safety::looks_partitioned(peers, dead.size(), safety.max_dead_fraction)) return true;
        const std::string why = fmt::format(
            "{} of {} peers failed at once (more than safety.max_dead_fraction {:g})",
            dead.size(), peers, safety.max_dead_fraction);
        if (safety.witnesses.empty()) {
            refuse_for_guard(fqdn, family,
                             fmt::format("partition guard: {}; this host is more likely cut off "
                                         "than they are all dead, so nobody is removed (list "
                                         "reachable addresses in safety.witnesses to tell the two "
                                         "apart)", why),
                             records);
            return false;
        }
        std::vector<Address> witnesses;
        for (const auto &w : safety.witnesses) witnesses.push_back(*parse_address(w));
        for (const auto &v : check(witnesses)) {
            if (v.alive) continue;
            refuse_for_guard(fqdn, family,
                             fmt::format("partition guard: {}, and witness {} {}: this host is "
                                         "probably cut off, nobody is removed", why,
                                         v.address.text(),
                                         v.host_fault ? "could not be checked" : "failed too"),
                             records, v.address.text(), v.reason());
            return false;
        }
        events_.emit(about(Kind::WitnessesPassed,
                           fmt::format("partition guard: {}, but every witness passed: the peers "
                                       "really are down", why),
                           fqdn, family));
        return true;
    }

    // What the removals of one set in this round did so far.
    struct Removals {
        size_t done = 0;
        std::vector<ReadRecord> simulated;  // dry run: the set as if they happened
        bool stopped = false;               // a refusal or failure ends the set's removals
    };

    void refuse(const std::string &fqdn, int family, const isolation::Verdict &v,
                safety::Removal verdict, const std::vector<ReadRecord> &set) {
        Event e = about(Kind::RemovalRefused,
                        fmt::format("peer {} seems dead, but it will not be removed: {}",
                                    v.address.text(), safety::explain(verdict, cfg().safety)),
                        fqdn, family, v.address.text(), dns().name(),
                        safety::explain(verdict, cfg().safety));
        e.refusal = refusal_of(verdict);
        e.set_after = addresses_of(set);
        events_.emit(e);
    }

    // Removes the dead peers of one set, in numeric order, under every
    // safeguard: the round limit, then for each write a fresh self-check, a
    // fresh read and a write conditional on that read, never below
    // min_records. A backend with remove_many takes them all in one atomic
    // write; others get one write (with its own fresh checks) per peer.
    Step remove_dead(const std::string &fqdn, int family, const Address &self,
                     const std::vector<isolation::Verdict> &dead,
                     const std::vector<ReadRecord> &set) {
        const auto limit = static_cast<size_t>(cfg().safety.max_removals_per_round);
        std::vector<isolation::Verdict> candidates;
        for (const auto &v : dead) {
            if (candidates.size() < limit) candidates.push_back(v);
            else refuse(fqdn, family, v, safety::Removal::RoundLimit, set);
        }
        Removals removals;
        if (dns().removes_many() && candidates.size() > 1)
            return remove_batch(fqdn, family, self, candidates, removals);
        for (const auto &v : candidates) {
            const Step step = remove_batch(fqdn, family, self, {v}, removals);
            if (step != Step::Ok || removals.stopped) return step;
        }
        return Step::Ok;
    }

    Step remove_batch(const std::string &fqdn, int family, const Address &self,
                      const std::vector<isolation::Verdict> &batch, Removals &removals) {
        const Step self_ok = self_check({self});
        if (self_ok != Step::Ok) {
            removals.stopped = true;
            return self_ok == Step::Skipped ? Step::Ok : self_ok;
        }
        auto fresh = read(fqdn, family);
        if (!fresh) {
            removals.stopped = true;
            return Step::Ok;
        }
        if (options_.dry_run && !removals.simulated.empty()) fresh = removals.simulated;
        const std::vector<isolation::Verdict> chosen = choose(fqdn, family, *fresh, batch, removals);
        if (chosen.empty()) return Step::Ok;
        std::vector<Address> addresses;
        for (const auto &v : chosen) addresses.push_back(v.address);
        const auto after = without(*fresh, addresses);
        if (options_.dry_run) {
            for (const auto &v : chosen) {
                Event e = about(Kind::WouldRemove,
                                fmt::format("peer {} seems dead; dry run: would remove it",
                                            v.address.text()),
                                fqdn, family, v.address.text(), dns().name(), v.reason());
                e.set_before = addresses_of(*fresh);
                e.set_after = addresses_of(after);
                events_.emit(e);
            }
            removals.simulated = after;
            removals.done += chosen.size();
            return Step::Ok;
        }
        for (const auto &v : chosen)
            events_.emit(about(Kind::PeerRemoving,
                               fmt::format("peer {} seems dead, removing it", v.address.text()),
                               fqdn, family, v.address.text(), dns().name(), v.reason()));
        const auto outcome = addresses.size() > 1
                                 ? dns().remove_many(fqdn, family, *fresh, addresses)
                                 : dns().remove(fqdn, family, *fresh, addresses.front());
        backend_result(dns().name(), "remove", outcome, fqdn, family);
        if (!outcome.ok()) {
            if (outcome.status == ADF_CONFLICT) {
                Event conflict = about(Kind::WriteConflict,
                                       "the record set changed under the removal; it is read "
                                       "again next round",
                                       fqdn, family, "", dns().name(), outcome.error);
                conflict.operation = "remove";
                events_.emit(conflict);
            }
            for (const auto &address : addresses) {
                Event e = about(Kind::RemovalFailed,
                                fmt::format("could not remove peer {}: {} (it is checked again "
                                            "next round)",
                                            address.text(), plugin::status_name(outcome.status)),
                                fqdn, family, address.text(), dns().name(), outcome.error);
                e.operation = "remove";
                e.status = plugin::status_name(outcome.status);
                e.set_after = addresses_of(*fresh);
                events_.emit(e);
            }
            removals.stopped = true;
            return Step::Ok;
        }
        removals.done += chosen.size();
        for (const auto &v : chosen) {
            Event e = about(Kind::PeerRemoved,
                            fmt::format("removed peer {}; the set was {}", v.address.text(),
                                        list_addresses(*fresh)),
                            fqdn, family, v.address.text(), dns().name(), v.reason());
            e.set_before = addresses_of(*fresh);
            e.set_after = addresses_of(after);
            events_.emit(e);
        }
        if (!dns().atomic()) restore_self_after_race(fqdn, family, self);
        return Step::Ok;
    }

    // The peers of `batch` that may go from the `fresh` set, in order, after
    // the removals done this round: those already gone are skipped, and the
    // first refusal (min_records, the last record, the round limit) refuses
    // the rest too and ends the set's removals.
    std::vector<isolation::Verdict> choose(const std::string &fqdn, int family,
                                           const std::vector<ReadRecord> &fresh,
                                           const std::vector<isolation::Verdict> &batch,
                                           Removals &removals) {
        std::vector<isolation::Verdict> chosen;
        std::optional<safety::Removal> refused;
        for (const auto &v : batch) {
            const std::string peer = v.address.text();
            if (!contains(fresh, v.address)) {
                Event e = about(Kind::PeerAlreadyGone,
                                fmt::format("peer {} seems dead but is already gone from DNS", peer),
                                fqdn, family, peer, dns().name(), v.reason());
                e.set_after = addresses_of(fresh);
                events_.emit(e);
                continue;
            }
            if (!refused) {
                const auto verdict = safety::may_remove(fresh.size() - chosen.size(),
                                                        removals.done + chosen.size(),
                                                        cfg().safety);
                if (verdict == safety::Removal::Allowed) {
                    chosen.push_back(v);
                    continue;
                }
                refused = verdict;
                removals.stopped = true;
            }
            refuse(fqdn, family, v, *refused, fresh);
        }
        return chosen;
    }

    static std::vector<ReadRecord> without(std::vector<ReadRecord> records,
                                           const std::vector<Address> &addresses) {
        records.erase(std::remove_if(records.begin(), records.end(),
                                     [&](const ReadRecord &r) {
                                         return std::find(addresses.begin(), addresses.end(),
                                                          r.address) != addresses.end();
                                     }),
                      records.end());
        return records;
    }

    // A backend without atomic updates leaves a short race between its check
    // and its write: when another daemon removed at the same moment, the set
    // may have lost more than intended. Put this host back at once rather
    // than at the next round.
    void restore_self_after_race(const std::string &fqdn, int family, const Address &self) {
        auto after = read(fqdn, family);
        if (!after || contains(*after, self)) return;
        events_.emit(about(Kind::SelfVanished,
                           "my own record vanished during a concurrent removal; adding it back",
                           fqdn, family, self.text(), dns().name()));
        add_self(fqdn, family, self, *after);
    }

    Setup setup_;
    RunOptions options_;
    events::Events events_;
    state::Store store_;
    metrics::Metrics metrics_;
    RoundRecord record_;
    Heartbeat heartbeat_;
    systemd::Notifier systemd_;
    std::unique_ptr<Peering> peering_;  // with a "peers" section
    Services services_;  // last: its thread stops before what it reads goes
    std::map<int, Address> last_own_;
    unsigned long long rounds_ = 0;
    double interval_ = 1;   // seconds from one round's start to the next
    size_t cancelled_ = 0;  // checks cut short by a stop signal
};

}  // namespace

int run(const RunOptions &options) {
    signals::install();
    Setup setup;
    try {
        setup = load_setup(options.config_path);
    } catch (const std::exception &e) {
        log::critical(fmt::format("cannot start: {}", e.what()), {"", "", "", "", "start_failed"});
        return kExitConfig;
    }
    log::configure(setup.config.logging);
    Daemon daemon(std::move(setup), options);
    if (!daemon.start_services()) return kExitConfig;
    return daemon.run();
}

}  // namespace adf::loop
