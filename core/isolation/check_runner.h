// Runs health checks outside the daemon's own process: every attempt in a
// forked child of its own process group, killed with the whole group at the
// timeout. A check plugin that crashes, hangs, aborts or throws costs that
// one attempt and leaves no process behind. Peers are checked concurrently,
// so a round costs about attempts x timeout however many peers are dead.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "net/address.h"
#include "plugin/kinds.h"

namespace adf::isolation {

struct Limits {
    double timeout = 1.0;   // seconds per attempt
    unsigned attempts = 1;  // back to back; the first success wins
    unsigned parallel = 32; // children at once
};

struct Verdict {
    Address address;
    bool alive = false;
    unsigned attempts = 0;              // attempts made
    std::vector<std::string> failures;  // the reason of each failed attempt
    std::string reason() const { return failures.empty() ? "" : failures.back(); }
};

// How a caller can cut a run short: when `wake_fd` becomes readable the
// runner calls `should_stop` (which must drain it); on true it kills every
// child and returns what it has (unfinished peers counted as not alive,
// with that reason).
struct Interrupt {
    int wake_fd = -1;
    std::function<bool()> should_stop;
};

// Checks every address; verdicts come back in the order of `addresses`.
std::vector<Verdict> check_all(plugin::Checker &checker, const std::vector<Address> &addresses,
                               const Limits &limits, const Interrupt &interrupt = {});

}  // namespace adf::isolation
