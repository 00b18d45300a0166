// The addresses a daemon accepts questions from: every address it has seen
// in its record sets (and its own), remembered for a day after it was last
// seen, so that a host its peers removed can still ask how they see it.
// Bounded: at most `capacity` addresses; past it the least recently seen go.
// A host forgotten (or never seen) is refused (Refusal::UnknownSender); its
// own checks of the peers then tell it that they are reachable, and it
// re-adds itself as the single-observer rule would (agreement.h).
#pragma once

#include <cstddef>
#include <map>
#include <vector>

#include "net/address.h"

namespace adf::peer {

constexpr double kRememberMembersSeconds = 86400;
constexpr size_t kMaxMembers = 16384;

class Roster {
   public:
    explicit Roster(double remember_seconds = kRememberMembersSeconds,
                    size_t capacity = kMaxMembers);

    // `addresses` were seen at `now` (monotonic seconds): a record set read,
    // this host's own addresses.
    void saw(const std::vector<Address> &addresses, double now);
    bool contains(const Address &address, double now) const;
    size_t size() const { return last_seen_.size(); }

   private:
    double remember_;
    size_t capacity_;
    std::map<Address, double> last_seen_;
};

}  // namespace adf::peer
