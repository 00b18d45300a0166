#include "isolation/check_runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <deque>

#include <fmt/format.h>

#include "isolation/check_child.h"
#include "util/clock.h"

namespace adf::isolation {
namespace {

constexpr size_t kReasonMax = 1024;

// One attempt running in a child.
struct Attempt {
    size_t peer = 0;   // index into the addresses
    pid_t pid = -1;    // also its process group
    int pidfd = -1;    // readable once the child has exited (-1: poll waitpid)
    int pipe = -1;     // the child's reason, if it gives one
    double deadline = 0;
    std::string reason;
    bool exited = false;
    int status = 0;
};

int open_pidfd(pid_t pid) {
#ifdef SYS_pidfd_open
    const long fd = syscall(SYS_pidfd_open, pid, 0);
    if (fd >= 0) {
        fcntl(static_cast<int>(fd), F_SETFD, FD_CLOEXEC);
        return static_cast<int>(fd);
    }
#endif
    return -1;
}

// In the child: default signal handling, own process group, run the check,
// report the reason through the pipe, and _exit (never run the parent's
// atexit handlers or flush its stdio buffers).
[[noreturn]] void run_child(plugin::Checker &checker, const Address &address, double timeout,
                            int reason_fd) {
    enter_check_child();
    const plugin::Outcome outcome = checker.check_here(address, timeout);
    if (!outcome.ok()) {
        const std::string reason = outcome.error.substr(0, kReasonMax);
        ssize_t ignored = write(reason_fd, reason.data(), reason.size());
        (void)ignored;
    }
    _exit(outcome.ok() ? 0 : 1);
}

bool start(plugin::Checker &checker, const Address &address, double timeout, size_t peer,
           Attempt &attempt, std::string &error) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        error = fmt::format("cannot create a pipe for the check: {}", std::strerror(errno));
        return false;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        error = fmt::format("cannot fork a check process: {}", std::strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (pid == 0) {
        close(fds[0]);
        run_child(checker, address, timeout, fds[1]);
    }
    setpgid(pid, pid);  // also here, so a kill of the group can never miss
    close(fds[1]);
    fcntl(fds[0], F_SETFL, O_NONBLOCK);
    attempt = Attempt{};
    attempt.peer = peer;
    attempt.pid = pid;
    attempt.pidfd = open_pidfd(pid);
    attempt.pipe = fds[0];
    attempt.deadline = monotonic_now() + timeout;
    return true;
}

void drain_reason(Attempt &a) {
    char buffer[512];
    for (;;) {
        const ssize_t n = read(a.pipe, buffer, sizeof buffer);
        if (n > 0) {
            if (a.reason.size() < kReasonMax) a.reason.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return;
    }
}

bool try_reap(Attempt &a) {
    int status = 0;
    const pid_t r = waitpid(a.pid, &status, WNOHANG);
    if (r != a.pid) return false;
    a.exited = true;
    a.status = status;
    return true;
}

// Kills what is left of the attempt's process group and reaps the child.
void finish(Attempt &a) {
    kill(-a.pid, SIGKILL);
    if (!a.exited) {
        int status = 0;
        while (waitpid(a.pid, &status, 0) < 0 && errno == EINTR) {
        }
        a.status = status;
    }
    drain_reason(a);
    if (a.pidfd >= 0) close(a.pidfd);
    close(a.pipe);
}

std::string describe_exit(const Attempt &a, double timeout) {
    if (!a.exited) return fmt::format("timed out after {:g} s (check killed)", timeout);
    std::string reason = a.reason;
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
    if (WIFSIGNALED(a.status)) {
        const int sig = WTERMSIG(a.status);
        return fmt::format("check crashed: killed by signal {} ({})", sig, strsignal(sig));
    }
    if (WIFEXITED(a.status) && WEXITSTATUS(a.status) != 0)
        return reason.empty() ? fmt::format("check exited with status {}", WEXITSTATUS(a.status))
                              : reason;
    return {};
}

class Run {
   public:
    Run(plugin::Checker &checker, const std::vector<Address> &addresses, const Limits &limits,
        const Interrupt &interrupt)
        : checker_(checker), addresses_(addresses), limits_(limits), interrupt_(interrupt) {
        verdicts_.resize(addresses.size());
        for (size_t i = 0; i < addresses.size(); ++i) {
            verdicts_[i].address = addresses[i];
            pending_.push_back(i);
        }
    }

    std::vector<Verdict> go() {
        while (!pending_.empty() || !running_.empty()) {
            launch();
            if (running_.empty()) continue;
            if (!wait()) {
                abort_all("interrupted: the daemon is stopping");
                break;
            }
            collect();
        }
        return std::move(verdicts_);
    }

   private:
    void launch() {
        const unsigned parallel = std::max(1u, limits_.parallel);
        while (!pending_.empty() && running_.size() < parallel) {
            const size_t peer = pending_.front();
            pending_.pop_front();
            Attempt attempt;
            std::string error;
            verdicts_[peer].attempts++;
            if (start(checker_, addresses_[peer], limits_.timeout, peer, attempt, error)) {
                running_.push_back(attempt);
            } else {
                record_failure(peer, error);
            }
        }
    }

    // Waits for a child to exit, a deadline, or an interrupt; false to stop.
    bool wait() {
        std::vector<pollfd> fds;
        bool need_polling = false;
        double nearest = running_.front().deadline;
        for (const auto &a : running_) {
            nearest = std::min(nearest, a.deadline);
            if (a.pidfd >= 0)
                fds.push_back({a.pidfd, POLLIN, 0});
            else
                need_polling = true;
        }
        if (interrupt_.wake_fd >= 0) fds.push_back({interrupt_.wake_fd, POLLIN, 0});
        double wait_s = std::max(0.0, nearest - monotonic_now());
        if (need_polling) wait_s = std::min(wait_s, 0.01);
        const int ms = static_cast<int>(std::ceil(wait_s * 1000));
        const int n = poll(fds.data(), fds.size(), ms);
        if (n > 0 && interrupt_.wake_fd >= 0 && (fds.back().revents & POLLIN) &&
            interrupt_.should_stop && interrupt_.should_stop())
            return false;
        return true;
    }

    void collect() {
        const double now = monotonic_now();
        for (size_t i = 0; i < running_.size();) {
            Attempt &a = running_[i];
            drain_reason(a);
            const bool done = try_reap(a);
            if (!done && now < a.deadline) {
                ++i;
                continue;
            }
            finish(a);
            conclude(a);
            running_.erase(running_.begin() + static_cast<long>(i));
        }
    }

    void conclude(const Attempt &a) {
        const std::string failure = describe_exit(a, limits_.timeout);
        if (failure.empty()) {
            verdicts_[a.peer].alive = true;
            return;
        }
        record_failure(a.peer, failure);
    }

    void record_failure(size_t peer, const std::string &reason) {
        Verdict &v = verdicts_[peer];
        v.failures.push_back(reason);
        if (v.attempts < std::max(1u, limits_.attempts)) pending_.push_front(peer);
    }

    void abort_all(const std::string &reason) {
        for (auto &a : running_) {
            finish(a);
            verdicts_[a.peer].failures.push_back(reason);
        }
        running_.clear();
        for (size_t peer : pending_) verdicts_[peer].failures.push_back(reason);
        pending_.clear();
    }

    plugin::Checker &checker_;
    const std::vector<Address> &addresses_;
    Limits limits_;
    Interrupt interrupt_;
    std::vector<Verdict> verdicts_;
    std::deque<size_t> pending_;
    std::vector<Attempt> running_;
};

}  // namespace

std::vector<Verdict> check_all(plugin::Checker &checker, const std::vector<Address> &addresses,
                               const Limits &limits, const Interrupt &interrupt) {
    return Run(checker, addresses, limits, interrupt).go();
}

}  // namespace adf::isolation
