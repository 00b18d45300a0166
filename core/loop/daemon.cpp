#include "loop/daemon.h"

#include <algorithm>
#include <map>
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

enum class Step { Ok, SelfCheckFailed, Stopped };

bool contains(const std::vector<ReadRecord> &records, const Address &address) {
    return std::any_of(records.begin(), records.end(),
                       [&](const ReadRecord &r) { return r.address == address; });
}

std::string list_addresses(const std::vector<ReadRecord> &records) {
    std::string out;
    for (const auto &r : records) out += (out.empty() ? "" : ", ") + r.address.text();
    return out.empty() ? "(none)" : out;
}

using plugin::Setup;

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
            const Step step = round();
            if (step == Step::SelfCheckFailed) return exit_after_failed_self_check();
            if (step == Step::Stopped || options_.once) break;
            const double late = monotonic_now() - following;
            if (late > 0.001)
                log::warning(fmt::format("we are late by {:.3f} s: the round took longer than "
                                         "the timer allows", late));
            next = following;
        }
        if (signals::stop_requested())
            log::info(fmt::format("stopping on signal {} ({})", signals::stop_signal(),
                                  strsignal(signals::stop_signal())));
        return kExitOk;
    }

   private:
    const config::Config &cfg() const { return setup_.config; }
    plugin::Timer &timer() { return *setup_.plugins.timer; }
    plugin::DnsBackend &dns() const { return *setup_.plugins.dns; }

    std::string describe_plugins() const {
        const auto &p = setup_.plugins;
        return fmt::format("dns {}, ipaddr {}, check {}, timer {}", p.dns->name(),
                           p.ipaddr->name(), p.check->name(), p.timer->name());
    }

    void reload() {
        try {
            Setup fresh = plugin::load_setup(options_.config_path);
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
        if (self != Step::Ok) return self;
        for (const auto &fqdn : cfg().fqdns)
            for (const auto &[family, address] : own) {
                const Step step = reconcile(fqdn, family, address);
                if (step != Step::Ok) return step;
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

    std::vector<isolation::Verdict> check(const std::vector<Address> &addresses) {
        isolation::Limits limits;
        limits.timeout = timer().check_timeout();
        limits.attempts = timer().attempts();
        limits.parallel = static_cast<unsigned>(cfg().max_parallel_checks);
        isolation::Interrupt interrupt{signals::wake_fd(), [] {
                                           signals::drain();
                                           return signals::stop_requested();
                                       }};
        auto verdicts = isolation::check_all(*setup_.plugins.check, addresses, limits, interrupt);
        for (const auto &v : verdicts) log_attempts(v);
        return verdicts;
    }

    void log_attempts(const isolation::Verdict &v) {
        const log::Fields fields{"", v.address.text(), setup_.plugins.check->name(), v.reason()};
        if (v.alive && !v.failures.empty())
            log::warning(fmt::format("check of {} failed {} time(s) before passing",
                                     v.address.text(), v.failures.size()), fields);
        else if (!v.alive)
            log::warning(fmt::format("check of {} failed {} time(s), giving up", v.address.text(),
                                     v.failures.size()), fields);
    }

    Step self_check(const std::vector<Address> &selves) {
        const auto verdicts = check(selves);
        if (signals::stop_requested()) return Step::Stopped;
        bool ok = true;
        for (const auto &v : verdicts) {
            if (v.alive) continue;
            ok = false;
            log::critical(fmt::format("self-check of my own address {} failed", v.address.text()),
                          {"", v.address.text(), setup_.plugins.check->name(), v.reason()});
        }
        return ok ? Step::Ok : Step::SelfCheckFailed;
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
        std::vector<isolation::Verdict> dead;
        for (const auto &v : verdicts)
            if (!v.alive) dead.push_back(v);
        if (dead.empty()) return Step::Ok;
        if (!guard_allows_removal(fqdn, peers.size(), dead)) return Step::Ok;
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
        if (dns().has_notes()) mine.note = config::render_note(cfg().note, fqdn, self.text());
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
            log::error(fmt::format("partition guard: {}, and witness {} failed too: this host is "
                                   "probably cut off, nobody is removed", why, v.address.text()),
                       {fqdn, v.address.text(), setup_.plugins.check->name(), v.reason()});
            return false;
        }
        log::warning(fmt::format("partition guard: {}, but every witness passed: the peers really "
                                 "are down", why), {fqdn, "", "", ""});
        return true;
    }

    Step remove_dead(const std::string &fqdn, int family, const Address &self,
                     const std::vector<isolation::Verdict> &dead) {
        size_t removed = 0;
        std::vector<ReadRecord> simulated;  // dry run: the set as if removals happened
        for (const auto &v : dead) {
            const std::string peer = v.address.text();
            const log::Fields fields{fqdn, peer, dns().name(), v.reason()};
            if (removed >= static_cast<size_t>(cfg().safety.max_removals_per_round)) {
                log::error(fmt::format("peer {} seems dead, but it will not be removed: {}", peer,
                                       safety::explain(safety::Removal::RoundLimit,
                                                       cfg().safety)), fields);
                continue;
            }
            // Fresh self-check and fresh read right before each removal.
            const Step self_ok = self_check({self});
            if (self_ok != Step::Ok) return self_ok;
            auto fresh = read(fqdn, family);
            if (!fresh) return Step::Ok;
            if (options_.dry_run && !simulated.empty()) fresh = simulated;
            if (!contains(*fresh, v.address)) {
                log::info(fmt::format("peer {} seems dead but is already gone from DNS", peer),
                          fields);
                continue;
            }
            const auto verdict = safety::may_remove(fresh->size(), removed, cfg().safety);
            if (verdict != safety::Removal::Allowed) {
                log::error(fmt::format("peer {} seems dead, but it will not be removed: {}", peer,
                                       safety::explain(verdict, cfg().safety)), fields);
                return Step::Ok;
            }
            if (options_.dry_run) {
                log::error(fmt::format("peer {} seems dead; dry run: would remove it", peer),
                           fields);
                simulated = *fresh;
                simulated.erase(std::remove_if(simulated.begin(), simulated.end(),
                                               [&](const ReadRecord &r) {
                                                   return r.address == v.address;
                                               }),
                                simulated.end());
                ++removed;
                continue;
            }
            log::error(fmt::format("peer {} seems dead, removing it", peer), fields);
            const auto outcome = dns().remove(fqdn, family, *fresh, v.address);
            if (!outcome.ok()) {
                log::error(fmt::format("could not remove peer {}: {} (it is checked again next "
                                       "round)", peer, plugin::status_name(outcome.status)),
                           {fqdn, peer, dns().name(), outcome.error});
                return Step::Ok;
            }
            ++removed;
            log::info(fmt::format("removed peer {}; the set was {}", peer, list_addresses(*fresh)),
                      fields);
            if (!dns().atomic()) restore_self_after_race(fqdn, family, self);
        }
        return Step::Ok;
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
};

}  // namespace

int run(const RunOptions &options) {
    signals::install();
    Setup setup;
    try {
        setup = plugin::load_setup(options.config_path);
    } catch (const std::exception &e) {
        log::critical(fmt::format("cannot start: {}", e.what()));
        return kExitConfig;
    }
    log::configure(setup.config.logging);
    return Daemon(std::move(setup), options).run();
}

}  // namespace adf::loop
