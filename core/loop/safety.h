// The safeguards' decisions, kept apart from I/O so they are tested alone.
#pragma once

#include <cstddef>
#include <string>

#include "config/config.h"

namespace adf::safety {

// The partition guard: more than one peer, and more than max_dead_fraction
// of them failed in the same round. Then this host is more likely cut off
// than they are all dead, and nobody may be removed unless witnesses pass.
bool looks_partitioned(size_t peers, size_t dead, double max_dead_fraction);

enum class Removal {
    Allowed,
    LastRecord,    // never removed, whatever the config or the command line
    BelowMinimum,  // it would leave fewer than safety.min_records
    RoundLimit,    // safety.max_removals_per_round is reached
    Forced,        // below safety.min_records, allowed only by --force
};

// May one more record go from a set of `set_size`, after `removed` removals
// in this round of this set?
Removal may_remove(size_t set_size, size_t removed, const config::Safety &safety);

// May an operator's removal by hand (probe dns remove) take one record from
// a set of `set_size`? The same floor as the daemon's, without the round
// limit: min_records holds unless `force` (then the verdict is Forced), and
// the last record stays even with `force`: a pool is never emptied.
Removal may_remove_by_hand(size_t set_size, const config::Safety &safety, bool force);

// Why a removal was refused, for the log.
std::string explain(Removal verdict, const config::Safety &safety);

}  // namespace adf::safety
