// Runs health checks outside the daemon's own process. The daemon never
// forks a check itself: a check helper (checker.h) forks one child per
// attempt, in its own process group, killed with the whole group at the
// timeout. A check plugin that crashes, hangs, aborts or throws costs that
// one attempt and leaves no process behind. Peers are checked concurrently,
// so a round costs about attempts x timeout however many peers are dead.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "isolation/check_helper.h"
#include "net/address.h"

namespace adf::isolation {

// The most attempts "auto" keeps in flight: every peer of a pool at once up
// to this many (each costs one process, and one descriptor in the helper).
constexpr unsigned kAutoParallelCap = 1024;

struct Limits {
    double timeout = 1.0;   // seconds per attempt
    unsigned attempts = 1;  // back to back; the first success wins
    unsigned parallel = 0;  // attempts at once; 0: auto
};

// Attempts in flight for `addresses` peers: `configured` (0: every peer, up
// to kAutoParallelCap), never more than the helper can hold, at least one.
unsigned parallel_for(unsigned configured, size_t addresses, unsigned capacity);

struct Verdict {
    Address address;
    bool alive = false;
    unsigned attempts = 0;              // attempts made
    std::vector<std::string> failures;  // the reason of each failed attempt
    // The last attempt failed on the host's side (the helper died, no
    // process could be forked, the daemon is stopping): nothing is known
    // about the peer, which must not be judged dead on it.
    bool host_fault = false;
    std::string reason() const { return failures.empty() ? "" : failures.back(); }
};

// How a caller can cut a run short: when `wake_fd` becomes readable the
// runner calls `should_stop` (which must drain it); on true it cancels every
// attempt and returns what it has (unfinished peers not alive, host_fault,
// with that reason).
struct Interrupt {
    int wake_fd = -1;
    std::function<bool()> should_stop;
    // Called whenever verdicts came (may be empty): the caller's sign of
    // progress (the daemon feeds systemd's watchdog with it).
    std::function<void()> on_progress;
};

struct Result {
    std::vector<Verdict> verdicts;  // in the order of the addresses
    size_t cancelled = 0;           // peers left unfinished by an interrupt
};

// The daemon's checks: one helper for the current check section, replaced
// by a new one when it dies.
class CheckService {
   public:
    // Starts the helper; throws as CheckHelper does (a bad plugin or section
    // is a config::ConfigError).
    CheckService(HelperSetup setup, std::string program = helper_program());
    ~CheckService();

    const std::string &plugin_name() const { return plugin_name_; }
    // The running helper (null between its death and its replacement).
    CheckHelper *helper() { return helper_.get(); }
    pid_t helper_pid() const { return helper_ ? helper_->pid() : -1; }
    // Starts a new helper for a dead one; false with `error` set when it
    // cannot be started.
    bool restart(std::string &error);
    // The helper is gone: kill what is left of it; returns how it ended.
    std::string bury();
    uint64_t next_id() { return ++last_id_; }

   private:
    HelperSetup setup_;
    std::string program_;
    std::string plugin_name_;
    std::unique_ptr<CheckHelper> helper_;
    uint64_t last_id_ = 0;
};

// Checks every address through `service`.
Result check_all(CheckService &service, const std::vector<Address> &addresses,
                 const Limits &limits, const Interrupt &interrupt = {});

}  // namespace adf::isolation
