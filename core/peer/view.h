// One daemon's view of the addresses of one record set (a name and a
// family): the filtered health of each (hysteresis.h), when each was last
// listed, and why its last check failed. What the daemon checks each round,
// what it answers its peers (opinion.h), and which peers it considers for
// removal all come from here. Pure: the caller passes the time and guards
// it with a lock when two threads share it (the loop writes, the peer
// server reads).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "net/address.h"
#include "peer/hysteresis.h"
#include "peer/wire.h"

namespace adf::peer {

class SetView {
   public:
    // The addresses to check this round: every `listed` one but `self`,
    // then those that left the set less than damping.max_suppress ago or
    // whose flap penalty lasts, so that every observer keeps seeing a
    // service that flaps out of DNS (and keeps it damped). Remembers when
    // each was listed, and forgets addresses that need no more checks.
    std::vector<Address> to_check(const std::vector<Address> &listed, const Address &self,
                                  double now, const HysteresisSettings &settings);

    // One check's result (`reason`: why it failed, "" when it passed).
    PeerHealth::Change observe(const Address &address, bool passed, const std::string &reason,
                               double now, const HysteresisSettings &settings);

    // Null when the address is not tracked.
    const PeerHealth *health(const Address &address) const;

    // The answer to `question` at `now`: the stored verdict when it is fresh
    // enough, else Unknown (this daemon checks on its own schedule only);
    // NotTracked for an address it does not watch.
    Answer answer(const Question &question, double now, const HysteresisSettings &settings,
                  const Address &observer, double check_seconds) const;

    // Whether `question` is about an address tracked here whose verdict is
    // too old for it, and a check made now would end before the asker
    // stops waiting: then check it, observe(), and answer (opinion.h).
    bool needs_check(const Question &question, double now, double check_seconds) const;

   private:
    struct Tracked {
        PeerHealth health;
        double last_listed = 0;
        std::string reason;  // the last failed check's
    };
    std::map<Address, Tracked> tracked_;
};

}  // namespace adf::peer
