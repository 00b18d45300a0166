#include "loop/safety.h"

#include <algorithm>

#include <fmt/format.h>

namespace adf::safety {

bool looks_partitioned(size_t peers, size_t dead, double max_dead_fraction) {
    if (peers <= 1 || dead == 0) return false;
    return static_cast<double>(dead) / static_cast<double>(peers) > max_dead_fraction;
}

namespace {

// The floor every removal respects, by the daemon or by hand.
Removal floor_verdict(size_t set_size, const config::Safety &safety) {
    if (set_size <= 1) return Removal::LastRecord;
    const size_t floor = static_cast<size_t>(std::max(1, safety.min_records));
    if (set_size - 1 < floor) return Removal::BelowMinimum;
    return Removal::Allowed;
}

}  // namespace

Removal may_remove(size_t set_size, size_t removed, const config::Safety &safety) {
    if (removed >= static_cast<size_t>(safety.max_removals_per_round)) return Removal::RoundLimit;
    return floor_verdict(set_size, safety);
}

Removal may_remove_by_hand(size_t set_size, const config::Safety &safety, bool force) {
    const Removal verdict = floor_verdict(set_size, safety);
    return verdict == Removal::BelowMinimum && force ? Removal::Forced : verdict;
}

std::string explain(Removal verdict, const config::Safety &safety) {
    switch (verdict) {
        case Removal::Allowed: return "allowed";
        case Removal::LastRecord: return "it is the last record, and a pool is never emptied";
        case Removal::BelowMinimum:
            return fmt::format("that would leave fewer than safety.min_records ({}) records",
                               safety.min_records);
        case Removal::Forced:
            return fmt::format("forced (--force) below safety.min_records ({})",
                               safety.min_records);
        case Removal::RoundLimit:
            return safety.max_removals_per_round == 0
                       ? std::string("safety.max_removals_per_round is 0 (report only)")
                       : fmt::format("safety.max_removals_per_round ({}) is reached for this round",
                                     safety.max_removals_per_round);
    }
    return "";
}

}  // namespace adf::safety
