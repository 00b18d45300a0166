// Inside the check helper: every check attempt runs in a child forked for
// it, in its own process group, killed with the whole group at its timeout
// and again once it has exited (so nothing it started is left behind). The
// child reports its reason through a pipe and leaves with _exit(). A crash,
// hang, abort or exception costs that one attempt; nothing the check changes
// in memory reaches the helper or later checks.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <limits>
#include <set>
#include <unordered_map>
#include <utility>
#include <vector>

#include "isolation/protocol.h"
#include "plugin/kinds.h"

namespace adf::isolation {

class AttemptPool {
   public:
    // `private_fd` (the daemon's socket) is closed in every child, so a
    // check can never speak for the helper.
    AttemptPool(plugin::Checker &checker, int private_fd);
    ~AttemptPool();  // kill_all()
    AttemptPool(const AttemptPool &) = delete;
    AttemptPool &operator=(const AttemptPool &) = delete;

    // Forks the attempt. When that is impossible (no process or descriptor
    // left) the reply, a host fault, is appended to `done` at once.
    void start(const protocol::Request &request, std::vector<protocol::Reply> &done);
    // Reaps every child that has exited (call when SIGCHLD arrived) and
    // appends their replies to `done`.
    void collect(std::vector<protocol::Reply> &done);
    // Kills the groups of the attempts whose deadline has passed; they are
    // reaped and reported by a later collect().
    void expire(double now);
    // The nearest deadline of a running attempt (infinity when none).
    double next_deadline() const;
    size_t running() const { return running_.size(); }
    // Kills every attempt's group and reaps it, reporting nothing.
    void kill_all();

   private:
    struct Attempt {
        uint64_t id = 0;
        double timeout = 0;
        double deadline = 0;
        int reason_fd = -1;
        bool timed_out = false;
    };
    void finish(pid_t pid, int status, std::vector<protocol::Reply> &done);

    plugin::Checker &checker_;
    int private_fd_;
    pid_t self_;
    cpu_set_t all_cpus_{};  // the helper's CPUs before it pinned itself
    bool pinned_ = false;
    std::unordered_map<pid_t, Attempt> running_;
    std::set<std::pair<double, pid_t>> deadlines_;  // of attempts not yet killed
};

}  // namespace adf::isolation
