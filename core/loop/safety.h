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

enum class Removal { Allowed, LastRecord, BelowMinimum, RoundLimit };

// May one more record go from a set of `set_size`, after `removed` removals
// in this round of this set?
Removal may_remove(size_t set_size, size_t removed, const config::Safety &safety);

// Why a removal was refused, for the log.
std::string explain(Removal verdict, const config::Safety &safety);

}  // namespace adf::safety
