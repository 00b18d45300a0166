// Removal by agreement, the daemon's side (README, "Deciding together"):
// the I/O around the pure decisions of peer/ (agreement.h, hysteresis.h,
// view.h). It holds this daemon's view of every record set, shared with
// the peer server that answers the other daemons from it on the service
// thread (a Participant of service/reactor.h), checking an address now
// when the question wants a fresher verdict than it holds (on_demand.h),
// and asks the other observers, from the loop thread, before a removal and
// before this host adds itself back. What it decides is returned to the loop, which emits
// the events and makes the writes.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "config/config.h"
#include "isolation/check_runner.h"
#include "metrics/metrics.h"
#include "peer/agreement.h"
#include "peer/hysteresis.h"
#include "peer/transport.h"
#include "service/reactor.h"

namespace adf::loop {

class Peering {
   public:
    // Binds the peer server of `config.peers` (which must be set); throws
    // config::ConfigError naming peers.listen / peers.port when it cannot.
    Peering(const config::Config &config, metrics::Metrics &metrics);
    ~Peering();
    Peering(const Peering &) = delete;
    Peering &operator=(const Peering &) = delete;

    // The peer server, for the service thread's reactor (once).
    std::unique_ptr<service::Participant> take_server();
    uint16_t port() const { return port_; }

    // A reload: the rule, the hysteresis, ask_timeout, max_asked and the
    // check section of the checks made for questions follow it; a changed key, listen address or port needs a restart (the
    // server keeps its socket): returns what was not applied, "" when all was.
    std::string reconfigure(const config::Config &config);

    // Before each round: how often rounds come (seconds), one check's
    // timeout and attempts, and this host's own addresses.
    void begin_round(double interval, const isolation::Limits &limits,
                     const std::map<int, Address> &own);

    // The addresses to check for one set: the listed peers, then those that
    // left it recently or still carry a flap penalty (peer::SetView). Every
    // listed address joins the members whose questions are answered.
    std::vector<Address> to_check(const std::string &fqdn, int family,
                                  const std::vector<Address> &listed, const Address &self);
    // This round's verdicts of the set (those the host could not make are skipped).
    void observe(const std::string &fqdn, int family,
                 const std::vector<isolation::Verdict> &verdicts);
    // This daemon's filtered verdict on `address` and why.
    peer::Verdict verdict(const std::string &fqdn, int family, const Address &address) const;
    std::string explain(const std::string &fqdn, int family, const Address &address) const;

    // Asks the other observers of the set about every one of `candidates`
    // at once (one deadline for all) and decides each removal by the rule.
    // `passes`: this round's checks of the set's peers.
    std::vector<peer::Decision> consult_removals(const std::string &fqdn, int family,
                                                 const Address &self,
                                                 const std::vector<Address> &listed,
                                                 const std::vector<Address> &candidates,
                                                 const std::map<Address, bool> &passes,
                                                 const isolation::Interrupt &interrupt);
    // Asks the peers how they see this host, absent from the set.
    peer::SelfDecision consult_self(const std::string &fqdn, int family, const Address &self,
                                    const std::vector<Address> &listed,
                                    const std::map<Address, bool> &passes,
                                    const isolation::Interrupt &interrupt);

    // True the first time a set falls back for `why`: the log says it once.
    bool first_fallback(const std::string &fqdn, int family, peer::Fallback why);

    struct Shared;  // the views, the roster and the settings, under a lock

   private:
    // What the view holds on `address` (null: nothing); the lock held.
    const peer::PeerHealth *health_of(const std::string &fqdn, int family,
                                      const Address &address) const;
    std::vector<std::vector<peer::Testimony>> ask(const std::string &fqdn,
                                                  const std::vector<Address> &subjects,
                                                  const std::vector<Address> &listed,
                                                  const Address &self,
                                                  const std::map<Address, bool> &passes,
                                                  const isolation::Interrupt &interrupt);
    void count_refusals(const peer::RefusalCounts &before);

    std::shared_ptr<Shared> shared_;
    metrics::Metrics &metrics_;
    std::unique_ptr<service::Participant> server_;
    uint16_t port_ = 0;
    config::Peers settings_;
    peer::Asker asker_;
    double interval_ = 1;
    double check_seconds_ = 1;
    std::mt19937_64 random_;
    std::set<std::tuple<std::string, int, int>> fallbacks_said_;
};

// A name as it travels in questions: lower case, without its final dot.
std::string wire_fqdn(const std::string &fqdn);

}  // namespace adf::loop
