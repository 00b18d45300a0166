#include "peer/roster.h"

#include <algorithm>

namespace adf::peer {

Roster::Roster(double remember_seconds, size_t capacity)
    : remember_(remember_seconds), capacity_(capacity) {}

void Roster::saw(const std::vector<Address> &addresses, double now) {
    for (const Address &a : addresses) last_seen_[a] = now;
    // Forget the expired, then the least recently seen while over capacity.
    for (auto it = last_seen_.begin(); it != last_seen_.end();)
        it = now - it->second > remember_ ? last_seen_.erase(it) : std::next(it);
    if (last_seen_.size() <= capacity_) return;
    std::vector<std::pair<double, Address>> by_age;
    for (const auto &[address, seen] : last_seen_) by_age.emplace_back(seen, address);
    const auto excess = static_cast<std::ptrdiff_t>(last_seen_.size() - capacity_);
    std::nth_element(by_age.begin(), by_age.begin() + excess, by_age.end());
    for (auto it = by_age.begin(); it != by_age.begin() + excess; ++it)
        last_seen_.erase(it->second);
}

bool Roster::contains(const Address &address, double now) const {
    const auto found = last_seen_.find(address);
    return found != last_seen_.end() && now - found->second <= remember_;
}

}  // namespace adf::peer
