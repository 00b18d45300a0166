#include "program_run.hpp"

#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/posix.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

namespace exec_check {
namespace {

using Clock = adf::CheckDeadline::Clock;

[[noreturn]] void fail_system(const std::string &what) {
    throw adf::Error(ADF_FAILED, what + ": " + std::strerror(errno));
}

struct Pipe {
    adf::UniqueFd read;
    adf::UniqueFd write;
    Pipe() {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) fail_system("cannot create a pipe");
        read.reset(fds[0]);
        write.reset(fds[1]);
    }
};

// While a run is in progress the check process is a child subreaper, so the
// program's orphaned background children become ours and can be reaped.
class SubreaperScope {
   public:
    SubreaperScope() {
        prctl(PR_GET_CHILD_SUBREAPER, &previous_);
        prctl(PR_SET_CHILD_SUBREAPER, 1);
    }
    ~SubreaperScope() { prctl(PR_SET_CHILD_SUBREAPER, previous_); }
    SubreaperScope(const SubreaperScope &) = delete;
    SubreaperScope &operator=(const SubreaperScope &) = delete;

   private:
    int previous_ = 0;
};

// waitpid() needs SIGCHLD not to be ignored (ignored children reap themselves).
class DefaultSigchldScope {
   public:
    DefaultSigchldScope() {
        struct sigaction standard {};
        standard.sa_handler = SIG_DFL;
        sigemptyset(&standard.sa_mask);
        sigaction(SIGCHLD, &standard, &previous_);
    }
    ~DefaultSigchldScope() { sigaction(SIGCHLD, &previous_, nullptr); }
    DefaultSigchldScope(const DefaultSigchldScope &) = delete;
    DefaultSigchldScope &operator=(const DefaultSigchldScope &) = delete;

   private:
    struct sigaction previous_ {};
};

std::vector<char *> c_strings(const std::vector<std::string> &strings) {
    std::vector<char *> out;
    for (const std::string &s : strings) out.push_back(const_cast<char *>(s.c_str()));
    out.push_back(nullptr);
    return out;
}

// In the forked child, between fork() and exec: async-signal-safe calls only.
[[noreturn]] void become_program(char *const argv[], char *const envp[], pid_t parent,
                                 int out, int err, int exec_error) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // the program dies with the check
    if (getppid() != parent) _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    struct sigaction standard {};
    standard.sa_handler = SIG_DFL;
    for (int signal_number = 1; signal_number < NSIG; ++signal_number)
        sigaction(signal_number, &standard, nullptr);
    const int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0 || dup2(out, STDOUT_FILENO) < 0 ||
        dup2(err, STDERR_FILENO) < 0) {
        const int error = errno;
        (void)!write(exec_error, &error, sizeof error);
        _exit(127);
    }
    execvpe(argv[0], argv, envp);
    const int error = errno;
    (void)!write(exec_error, &error, sizeof error);
    _exit(127);
}

// The errno the child reported before exec, or 0 once exec succeeded (the
// close-on-exec pipe then reads end-of-file).
int read_exec_error(int fd) {
    int error = 0;
    ssize_t n;
    do {
        n = read(fd, &error, sizeof error);
    } while (n < 0 && errno == EINTR);
    return n == static_cast<ssize_t>(sizeof error) ? error : 0;
}

// Reads what `fd` has now; false at end of file or on an error.
bool read_available(adf::UniqueFd &fd, CapturedStream &stream, size_t limit) {
    char buffer[4096];
    for (;;) {
        const ssize_t n = read(fd.get(), buffer, sizeof buffer);
        if (n > 0) {
            const size_t kept = std::min(static_cast<size_t>(n), limit - std::min(limit, stream.text.size()));
            stream.text.append(buffer, kept);
            stream.discarded += static_cast<size_t>(n) - kept;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return true;
        } else {
            fd.reset();
            return false;
        }
    }
}

bool has_exited(pid_t pid) {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 &&
           info.si_pid == pid;
}

// Kills every process of group `group` and reaps those that are our children
// (with the subreaper flag, that includes orphaned background processes),
// giving up at `give_up` on members some other process must reap.
void kill_and_reap_group(pid_t group, Clock::time_point give_up) {
    killpg(group, SIGKILL);
    while (killpg(group, 0) == 0 && Clock::now() < give_up) {
        while (waitpid(-group, nullptr, WNOHANG) > 0) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    while (waitpid(-group, nullptr, WNOHANG) > 0) {
    }
}

}  // namespace

RunResult run_program(const std::vector<std::string> &argv,
                      const std::vector<std::string> &environment, size_t output_limit,
                      const adf::CheckDeadline &deadline) {
    std::vector<char *> argv_c = c_strings(argv);
    std::vector<char *> envp_c = c_strings(environment);
    Pipe out, err, exec_error;
    DefaultSigchldScope default_sigchld;
    SubreaperScope subreaper;
    const pid_t parent = getpid();

    const pid_t pid = fork();
    if (pid < 0) fail_system("cannot fork");
    if (pid == 0)
        become_program(argv_c.data(), envp_c.data(), parent, out.write.get(), err.write.get(),
                       exec_error.write.get());
    setpgid(pid, pid);  // also here, so that killpg() works whoever runs first
    out.write.reset();
    err.write.reset();
    exec_error.write.reset();

    RunResult result;
    result.start_error = read_exec_error(exec_error.read.get());
    if (result.start_error != 0) {
        waitpid(pid, &result.wait_status, 0);
        return result;
    }
    result.started = true;
    fcntl(out.read.get(), F_SETFL, O_NONBLOCK);
    fcntl(err.read.get(), F_SETFL, O_NONBLOCK);
    // A pidfd turns "the program exited" into a poll() event; without one
    // (old kernels) poll wakes up every 10 ms to ask.
    adf::UniqueFd exited(static_cast<int>(syscall(SYS_pidfd_open, pid, 0)));

    int poll_error = 0;
    while (!has_exited(pid)) {
        if (deadline.passed()) {
            result.timed_out = true;
            break;
        }
        pollfd fds[3] = {{out.read.get(), POLLIN, 0}, {err.read.get(), POLLIN, 0},
                         {exited.get(), POLLIN, 0}};
        const int wait_ms = exited.valid() ? deadline.poll_ms() : std::min(deadline.poll_ms(), 10);
        if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) {
            poll_error = errno;  // thrown once the program is gone
            break;
        }
        if (fds[0].revents != 0) read_available(out.read, result.out, output_limit);
        if (fds[1].revents != 0) read_available(err.read, result.err, output_limit);
    }
    // The leader is alive or a zombie (WNOWAIT), so the group id is still
    // ours: kill the group, take the leader's status, then reap the rest.
    killpg(pid, SIGKILL);
    waitpid(pid, &result.wait_status, 0);
    kill_and_reap_group(pid, deadline.cleanup_end());
    if (poll_error != 0) {
        errno = poll_error;
        fail_system("poll");
    }
    // Output the program wrote before it ended is in the pipes already.
    if (out.read.valid()) read_available(out.read, result.out, output_limit);
    if (err.read.valid()) read_available(err.read, result.err, output_limit);
    return result;
}

}  // namespace exec_check
