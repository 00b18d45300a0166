#include "isolation/attempts.h"

#include "isolation/check_child.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "util/clock.h"

namespace adf::isolation {
namespace {

using protocol::Outcome;
using protocol::Reply;

// In the child: die with the helper, own process group, default signal
// handling, no way to the daemon; run the check, report the reason through
// the pipe, and _exit (never the helper's atexit handlers or stdio buffers).
[[noreturn]] void run_child(plugin::Checker &checker, const protocol::Request &request,
                            int reason_fd, int private_fd, pid_t helper, const cpu_set_t *cpus) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != helper) _exit(1);  // the helper died before prctl took effect
    if (cpus != nullptr) sched_setaffinity(0, sizeof *cpus, cpus);  // checks use every CPU
    if (private_fd >= 0) close(private_fd);
    enter_check_child();
    const plugin::Outcome outcome = checker.check_here(request.address, request.timeout);
    if (!outcome.ok()) {
        const size_t length = std::min(outcome.error.size(), protocol::kReasonMax);
        ssize_t ignored = write(reason_fd, outcome.error.data(), length);
        (void)ignored;
    }
    _exit(outcome.ok() ? 0 : 1);
}

std::string read_reason(int fd) {
    std::string reason;
    char buffer[protocol::kReasonMax];
    for (;;) {
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n > 0 && reason.size() < protocol::kReasonMax) {
            reason.append(buffer, static_cast<size_t>(n));
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        break;
    }
    while (!reason.empty() && (reason.back() == '\n' || reason.back() == '\r')) reason.pop_back();
    return reason.substr(0, protocol::kReasonMax);
}

Reply host_fault(uint64_t id, const std::string &what) {
    return Reply{id, Outcome::HostFault, fmt::format("{}: {}", what, std::strerror(errno))};
}

}  // namespace

AttemptPool::AttemptPool(plugin::Checker &checker, int private_fd)
    : checker_(checker), private_fd_(private_fd), self_(getpid()) {
    // The helper stays on the CPU it runs on. Every fork write-protects its
    // pages and every page it writes afterwards is copied; each of those
    // flushes the TLB of every CPU the helper ran on, by interprocessor
    // interrupt (very dear in a virtual machine). On one CPU the flushes stay
    // local. The children get the whole set back.
    const int cpu = sched_getcpu();
    if (cpu >= 0 && sched_getaffinity(0, sizeof all_cpus_, &all_cpus_) == 0 &&
        CPU_COUNT(&all_cpus_) > 1) {
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        pinned_ = sched_setaffinity(0, sizeof one, &one) == 0;
    }
}

AttemptPool::~AttemptPool() { kill_all(); }

void AttemptPool::start(const protocol::Request &request, std::vector<Reply> &done) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        done.push_back(host_fault(request.id, "cannot create a pipe for the check"));
        return;
    }
    const pid_t pid = fork();
    if (pid < 0) {
        done.push_back(host_fault(request.id, "cannot fork a check process"));
        close(fds[0]);
        close(fds[1]);
        return;
    }
    if (pid == 0) {
        close(fds[0]);
        run_child(checker_, request, fds[1], private_fd_, self_, pinned_ ? &all_cpus_ : nullptr);
    }
    setpgid(pid, pid);  // also here, so a kill of the group can never miss
    close(fds[1]);
    Attempt attempt;
    attempt.id = request.id;
    attempt.timeout = request.timeout;
    attempt.deadline = monotonic_now() + request.timeout;
    attempt.reason_fd = fds[0];
    running_.emplace(pid, attempt);
    deadlines_.emplace(attempt.deadline, pid);
}

void AttemptPool::collect(std::vector<Reply> &done) {
    for (;;) {
        // Look first, reap after killing the group: while the child is a
        // zombie its pid, and so its group's id, cannot be reused.
        siginfo_t info{};
        if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0) return;
        const pid_t pid = info.si_pid;
        kill(-pid, SIGKILL);
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        finish(pid, status, done);
    }
}

void AttemptPool::finish(pid_t pid, int status, std::vector<Reply> &done) {
    const auto found = running_.find(pid);
    if (found == running_.end()) return;  // not an attempt (nothing else is forked here)
    const Attempt a = found->second;
    running_.erase(found);
    if (!a.timed_out) deadlines_.erase({a.deadline, pid});
    const std::string reason = read_reason(a.reason_fd);
    close(a.reason_fd);
    Reply reply{a.id, Outcome::Dead, {}};
    if (a.timed_out) {
        reply.reason = fmt::format("timed out after {:g} s (check killed)", a.timeout);
    } else if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        reply.reason = fmt::format("check crashed: killed by signal {} ({})", sig, strsignal(sig));
    } else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
        reply.reason = reason.empty()
                           ? fmt::format("check exited with status {}", WEXITSTATUS(status))
                           : reason;
    } else {
        reply.outcome = Outcome::Alive;
    }
    done.push_back(std::move(reply));
}

void AttemptPool::expire(double now) {
    while (!deadlines_.empty() && deadlines_.begin()->first <= now) {
        const pid_t pid = deadlines_.begin()->second;
        deadlines_.erase(deadlines_.begin());
        kill(-pid, SIGKILL);  // not reaped yet: the group id is still ours
        running_[pid].timed_out = true;
    }
}

double AttemptPool::next_deadline() const {
    return deadlines_.empty() ? std::numeric_limits<double>::infinity()
                              : deadlines_.begin()->first;
}

void AttemptPool::kill_all() {
    for (const auto &[pid, attempt] : running_) kill(-pid, SIGKILL);
    for (const auto &[pid, attempt] : running_) {
        int status = 0;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
        }
        close(attempt.reason_fd);
    }
    running_.clear();
    deadlines_.clear();
}

}  // namespace adf::isolation
