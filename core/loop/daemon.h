// The failover loop: own address, self-check, add self, check peers
// concurrently, remove the dead under every safeguard, sleep, again. The
// loop thread runs the rounds and emits what happens as events
// (events/events.h) into the state store, the metrics, the log and the
// notifications; one service thread (service/reactor.h) serves the metrics
// listener and the control socket and delivers notifications, so the loop
// never waits on any of them.
#pragma once

#include <string>

namespace adf::loop {

struct RunOptions {
    std::string config_path;
    bool once = false;     // one round, then exit
    bool dry_run = false;  // log every change it would make, make none
};

// Runs until SIGTERM/SIGINT (0), a failed self-check (1), or a bad config,
// plugin or listener at start (2). SIGHUP reloads the config; a bad one is
// refused and the running one kept. With `once`, the exit code tells how
// the round went: 0 it did its job, 1 self-check failed, 3 a read or write
// failed (or the own address was unknown, or the self-check could not be
// made), 4 a write conflicted and was not settled (README "Exit codes").
int run(const RunOptions &options);

}  // namespace adf::loop
