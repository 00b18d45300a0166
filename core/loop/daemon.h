// The failover loop: own address, self-check, add self, check peers
// concurrently, remove the dead under every safeguard, sleep, again.
#pragma once

#include <string>

namespace adf::loop {

struct RunOptions {
    std::string config_path;
    bool once = false;     // one round, then exit
    bool dry_run = false;  // log every change it would make, make none
};

// Runs until SIGTERM/SIGINT (0), a failed self-check (1), or a bad config or
// plugin at start (2). SIGHUP reloads the config; a bad one is refused and
// the running one kept.
int run(const RunOptions &options);

}  // namespace adf::loop
