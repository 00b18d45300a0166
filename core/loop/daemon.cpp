#include "loop/daemon.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include <fmt/format.h>

#include "config/config.h"
#include "dnsread/direct_reader.h"
#include "isolation/check_runner.h"
#include "logging/log.h"
#include "loop/safety.h"
#include "loop/signals.h"
#include "plugin/kinds.h"
#include "util/clock.h"
#include "util/exit_codes.h"

namespace adf::loop {
namespace {

using plugin::ReadRecord;

// Skipped: the round ends early without judging anyone (a self-check that
// could not be made); the next round starts on schedule.
enum class Step { Ok, SelfCheckFailed, Stopped, Skipped };

bool contains(const std::vector<ReadRecord> &records, const Address &address) {
    return std::any_of(records.begin(), records.end(),
                       [&](const ReadRecord &r) { return r.address == address; });
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
        : setup_(std::move(setup)), options_(std::move(options)) {}

    int run() {
        log::info(fmt::format("starting: {} for {}{}", describe_plugins(),
                              fmt::join(cfg().fqdns, ", "),
                              options_.dry_run ? " (dry run: no change will be made)" : ""));
        double next = timer().next_check_time(monotonic_now());
        for (;;) {
            if (!signals::sleep_until(next)) break;
            if (signals::take_reload_request()) {
                reload();
                next = timer().next_check_time(monotonic_now());
                continue;
            }
            const double following = timer().next_check_time(monotonic_now());
            const double started = monotonic_now();
            checked_ = failed_ = 0;
            const Step step = round();
            log::debug(fmt::format("round finished in {:.3f} s: {} check(s) of peers, {} failed",
                                   monotonic_now() - started, checked_, failed_));
            if (step == Step::SelfCheckFailed) return exit_after_failed_self_check();
            if (step == Step::Stopped || options_.once) break;
            const double late = monotonic_now() - following;
            if (late > 0.001)
                log::warning(fmt::format("we are late by {:.3f} s: the round took longer than "
                                         "the timer allows", late));
            next = following;
        }
        if (signals::stop_requested())
            log::info(fmt::format("stopping on signal {} ({}){}", signals::stop_signal(),
                                  strsignal(signals::stop_signal()),
                                  cancelled_ == 0 ? ""
                                                  : fmt::format(" during a round: {} check(s) "
                                                                "were cancelled", cancelled_)));
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

    // The new config's plugins and check helper are all up before the old
    // ones go, so a refused reload leaves the running setup untouched.
    void reload() {
        try {
            Setup fresh = load_setup(options_.config_path);
            setup_ = std::move(fresh);
            log::configure(cfg().logging);
            last_own_.clear();
            log::info(fmt::format("configuration reloaded from {}: {}", options_.config_path,
                                  describe_plugins()));
        } catch (const std::exception &e) {
            log::error(fmt::format("reload refused, the running configuration stays: {}",
                                   e.what()));
        }
    }

    int exit_after_failed_self_check() {
        const double delay = cfg().safety.self_check_failure_delay;
        log::critical(fmt::format("self-check failed; waiting {:g} s and exiting", delay));
        signals::sleep_until(monotonic_now() + delay);
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
        for (const auto &fqdn : cfg().fqdns)
            for (const auto &[family, address] : own) {
                const Step step = reconcile(fqdn, family, address);
                if (step != Step::Ok) return step == Step::Skipped ? Step::Ok : step;
            }
        return Step::Ok;
    }

    std::map<int, Address> own_addresses() {
        std::map<int, Address> own;
        for (int family : cfg().families) {
            auto answer = setup_.plugins.ipaddr->own_address(family);
            const log::Fields fields{"", "", setup_.plugins.ipaddr->name(), answer.error};
            if (answer.status == ADF_ABSENT) continue;
            if (!answer.ok()) {
                log::error(fmt::format("cannot tell my own IPv{} address; its records are left "
                                       "alone this round", family), fields);
                continue;
            }
            const Address address = *answer.address;
            auto last = last_own_.find(family);
            if (last == last_own_.end())
                log::info(fmt::format("my IPv{} address is {}", family, address.text()), fields);
            else if (last->second != address)
                log::warning(fmt::format("my IPv{} address changed from {} to {}", family,
                                         last->second.text(), address.text()), fields);
            last_own_[family] = address;
            own[family] = address;
        }
        if (own.empty())
            log::error("no own address of any managed family this round; nothing is done");
        return own;
    }

    // Checks through the helper. A SIGTERM cuts the checks short: they are
    // counted for the one line that says the daemon stops, never logged one
    // by one.
    std::vector<isolation::Verdict> check(const std::vector<Address> &addresses) {
        isolation::Limits limits;
        limits.timeout = timer().check_timeout();
        limits.attempts = timer().attempts();
        limits.parallel = static_cast<unsigned>(cfg().max_parallel_checks);
        isolation::Interrupt interrupt{signals::wake_fd(), [] {
                                           signals::drain();
                                           return signals::stop_requested();
                                       }};
        auto result = isolation::check_all(*setup_.checks, addresses, limits, interrupt);
        cancelled_ += result.cancelled;
        if (result.cancelled == 0)
            for (const auto &v : result.verdicts) log_attempts(v);
        return std::move(result.verdicts);
    }

    void log_attempts(const isolation::Verdict &v) {
        const log::Fields fields{"", v.address.text(), check_name(), v.reason()};
        if (v.alive && !v.failures.empty())
            log::warning(fmt::format("check of {} failed {} time(s) before passing",
                                     v.address.text(), v.failures.size()), fields);
        else if (v.host_fault)
            log::warning(fmt::format("check of {} could not be made; it is not judged this round",
                                     v.address.text()), fields);
        else if (!v.alive)
            log::warning(fmt::format("check of {} failed {} time(s), giving up", v.address.text(),
                                     v.failures.size()), fields);
    }

    // A self-check the host could not make (the helper died) judges nothing:
    // the round ends without changes instead of the daemon exiting.
    Step self_check(const std::vector<Address> &selves) {
        const auto verdicts = check(selves);
        if (signals::stop_requested()) return Step::Stopped;
        Step step = Step::Ok;
        for (const auto &v : verdicts) {
            if (v.alive) continue;
            const log::Fields fields{"", v.address.text(), check_name(), v.reason()};
            if (v.host_fault) {
                log::error(fmt::format("self-check of my own address {} could not be made; "
                                       "nothing is changed this round", v.address.text()),
                           fields);
                if (step == Step::Ok) step = Step::Skipped;
                continue;
            }
            log::critical(fmt::format("self-check of my own address {} failed", v.address.text()),
                          fields);
            step = Step::SelfCheckFailed;
        }
        return step;
    }

    std::optional<std::vector<ReadRecord>> read(const std::string &fqdn, int family) {
        return records_or_log(dns().read(fqdn, family), fqdn, family, dns().name());
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
        return records_or_log(dnsread::DirectReader(*cfg().read_from).read(fqdn, family), fqdn,
                              family, "");
    }

    std::optional<std::vector<ReadRecord>> records_or_log(plugin::DnsBackend::Read result,
                                                          const std::string &fqdn, int family,
                                                          const std::string &plugin_name) {
        if (!result.ok()) {
            log::error(fmt::format("cannot read the {} records: {} (nothing is changed; retrying "
                                   "next round)", record_type(family),
                                   plugin::status_name(result.status)),
                       {fqdn, "", plugin_name, result.error});
            return std::nullopt;
        }
        return std::move(result.records);
    }

    // Makes one record set right: self present, dead peers out.
    Step reconcile(const std::string &fqdn, int family, const Address &self) {
        auto records = read_for_round(fqdn, family);
        if (!records) return Step::Ok;
        if (!contains(*records, self) && !add_self(fqdn, family, self, *records)) return Step::Ok;
        std::vector<Address> peers;
        for (const auto &r : *records)
            if (r.address != self) peers.push_back(r.address);
        if (peers.empty()) return Step::Ok;
        const auto verdicts = check(peers);
        if (signals::stop_requested()) return Step::Stopped;
        // Peers the host could not check are neither alive nor dead: they
        // count for nothing this round, not even for the partition guard.
        std::vector<isolation::Verdict> dead;
        size_t judged = 0;
        for (const auto &v : verdicts) {
            if (v.host_fault) continue;
            ++judged;
            if (!v.alive) dead.push_back(v);
        }
        checked_ += peers.size();
        failed_ += dead.size();
        if (dead.empty()) return Step::Ok;
        if (!guard_allows_removal(fqdn, judged, dead)) return Step::Ok;
        return remove_dead(fqdn, family, self, dead);
    }

    // Adds this host's record, conditional on `records` (updated on success).
    // A conflict is ordinary contention when daemons start together: read
    // again and retry at once instead of a round later.
    bool add_self(const std::string &fqdn, int family, const Address &self,
                  std::vector<ReadRecord> &records) {
        const log::Fields fields{fqdn, self.text(), dns().name(), ""};
        if (options_.dry_run) {
            log::warning(fmt::format("dry run: would add myself ({}) into DNS", self.text()),
                         fields);
            insert_sorted(records, own_record(fqdn, self, records));
            return true;
        }
        constexpr int kAttempts = 3;
        for (int attempt = 1;; ++attempt) {
            const ReadRecord mine = own_record(fqdn, self, records);
            const auto outcome = dns().add(fqdn, family, records, mine);
            if (outcome.ok()) {
                log::warning(fmt::format("added myself ({}) into DNS", self.text()), fields);
                insert_sorted(records, mine);
                return true;
            }
            const log::Fields why{fqdn, self.text(), dns().name(), outcome.error};
            if (outcome.status != ADF_CONFLICT || attempt == kAttempts) {
                const auto write = outcome.status == ADF_CONFLICT ? log::warning : log::error;
                write(fmt::format("cannot add myself ({}) into DNS: {} (retrying next round)",
                                  self.text(), plugin::status_name(outcome.status)), why);
                return false;
            }
            log::info("the record set changed while adding myself; reading it again", why);
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

    bool guard_allows_removal(const std::string &fqdn, size_t peers,
                              const std::vector<isolation::Verdict> &dead) {
        const auto &safety = cfg().safety;
        if (!safety::looks_partitioned(peers, dead.size(), safety.max_dead_fraction)) return true;
        const std::string why = fmt::format(
            "{} of {} peers failed at once (more than safety.max_dead_fraction {:g})",
            dead.size(), peers, safety.max_dead_fraction);
        if (safety.witnesses.empty()) {
            log::error(fmt::format("partition guard: {}; this host is more likely cut off than "
                                   "they are all dead, so nobody is removed (list reachable "
                                   "addresses in safety.witnesses to tell the two apart)", why),
                       {fqdn, "", "", ""});
            return false;
        }
        std::vector<Address> witnesses;
        for (const auto &w : safety.witnesses) witnesses.push_back(*parse_address(w));
        for (const auto &v : check(witnesses)) {
            if (v.alive) continue;
            log::error(fmt::format("partition guard: {}, and witness {} {}: this host is "
                                   "probably cut off, nobody is removed", why, v.address.text(),
                                   v.host_fault ? "could not be checked" : "failed too"),
                       {fqdn, v.address.text(), check_name(), v.reason()});
            return false;
        }
        log::warning(fmt::format("partition guard: {}, but every witness passed: the peers really "
                                 "are down", why), {fqdn, "", "", ""});
        return true;
    }

    // What the removals of one set in this round did so far.
    struct Removals {
        size_t done = 0;
        std::vector<ReadRecord> simulated;  // dry run: the set as if they happened
        bool stopped = false;               // a refusal or failure ends the set's removals
    };

    // Removes the dead peers of one set, in numeric order, under every
    // safeguard: the round limit, then for each write a fresh self-check, a
    // fresh read and a write conditional on that read, never below
    // min_records. A backend with remove_many takes them all in one atomic
    // write; others get one write (with its own fresh checks) per peer.
    Step remove_dead(const std::string &fqdn, int family, const Address &self,
                     const std::vector<isolation::Verdict> &dead) {
        const auto limit = static_cast<size_t>(cfg().safety.max_removals_per_round);
        std::vector<isolation::Verdict> candidates;
        for (const auto &v : dead) {
            if (candidates.size() < limit) {
                candidates.push_back(v);
                continue;
            }
            log::error(fmt::format("peer {} seems dead, but it will not be removed: {}",
                                   v.address.text(),
                                   safety::explain(safety::Removal::RoundLimit, cfg().safety)),
                       {fqdn, v.address.text(), dns().name(), v.reason()});
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
        const std::vector<isolation::Verdict> chosen = choose(fqdn, *fresh, batch, removals);
        if (chosen.empty()) return Step::Ok;
        std::vector<Address> addresses;
        for (const auto &v : chosen) addresses.push_back(v.address);
        if (options_.dry_run) {
            for (const auto &v : chosen)
                log::error(fmt::format("peer {} seems dead; dry run: would remove it",
                                       v.address.text()),
                           {fqdn, v.address.text(), dns().name(), v.reason()});
            removals.simulated = without(*fresh, addresses);
            removals.done += chosen.size();
            return Step::Ok;
        }
        for (const auto &v : chosen)
            log::error(fmt::format("peer {} seems dead, removing it", v.address.text()),
                       {fqdn, v.address.text(), dns().name(), v.reason()});
        const auto outcome = addresses.size() > 1
                                 ? dns().remove_many(fqdn, family, *fresh, addresses)
                                 : dns().remove(fqdn, family, *fresh, addresses.front());
        if (!outcome.ok()) {
            for (const auto &address : addresses)
                log::error(fmt::format("could not remove peer {}: {} (it is checked again next "
                                       "round)", address.text(),
                                       plugin::status_name(outcome.status)),
                           {fqdn, address.text(), dns().name(), outcome.error});
            removals.stopped = true;
            return Step::Ok;
        }
        removals.done += chosen.size();
        for (const auto &v : chosen)
            log::info(fmt::format("removed peer {}; the set was {}", v.address.text(),
                                  list_addresses(*fresh)),
                      {fqdn, v.address.text(), dns().name(), v.reason()});
        if (!dns().atomic()) restore_self_after_race(fqdn, family, self);
        return Step::Ok;
    }

    // The peers of `batch` that may go from the `fresh` set, in order, after
    // the removals done this round: those already gone are skipped, and the
    // first refusal (min_records, the last record, the round limit) refuses
    // the rest too and ends the set's removals.
    std::vector<isolation::Verdict> choose(const std::string &fqdn,
                                           const std::vector<ReadRecord> &fresh,
                                           const std::vector<isolation::Verdict> &batch,
                                           Removals &removals) {
        std::vector<isolation::Verdict> chosen;
        std::optional<safety::Removal> refused;
        for (const auto &v : batch) {
            const std::string peer = v.address.text();
            const log::Fields fields{fqdn, peer, dns().name(), v.reason()};
            if (!contains(fresh, v.address)) {
                log::info(fmt::format("peer {} seems dead but is already gone from DNS", peer),
                          fields);
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
            log::error(fmt::format("peer {} seems dead, but it will not be removed: {}", peer,
                                   safety::explain(*refused, cfg().safety)), fields);
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
        log::warning(fmt::format("my own record vanished during a concurrent removal; adding "
                                 "it back"), {fqdn, self.text(), dns().name(), ""});
        add_self(fqdn, family, self, *after);
    }

    Setup setup_;
    RunOptions options_;
    std::map<int, Address> last_own_;
    size_t cancelled_ = 0;  // checks cut short by a stop signal
    size_t checked_ = 0;    // checks of peers in the current round (for its summary)
    size_t failed_ = 0;     // of which failed
};

}  // namespace

int run(const RunOptions &options) {
    signals::install();
    Setup setup;
    try {
        setup = load_setup(options.config_path);
    } catch (const std::exception &e) {
        log::critical(fmt::format("cannot start: {}", e.what()));
        return kExitConfig;
    }
    log::configure(setup.config.logging);
    return Daemon(std::move(setup), options).run();
}

}  // namespace adf::loop
