#include "isolation/check_helper.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "plugin/loader.h"
#include "util/clock.h"

extern char **environ;

namespace adf::isolation {
namespace {

constexpr const char *kProgramName = "autodnsfailover-checker";
constexpr int kHelperSocketFd = 3;     // where the helper finds its end
constexpr double kReadyTimeout = 30;   // seconds for the helper to create the plugin
constexpr double kExitGrace = 2;       // seconds for a stopped helper to exit by itself

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

std::string system_error(const std::string &what) {
    return fmt::format("{}: {}", what, std::strerror(errno));
}

// Waits until `pid` has exited (at most `seconds`); true with its status.
bool wait_exit(pid_t pid, int pidfd, double seconds, int &status) {
    const double deadline = monotonic_now() + seconds;
    for (;;) {
        const pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno == ECHILD)) return true;  // ECHILD: reaped already
        const double left = deadline - monotonic_now();
        if (left <= 0) return false;
        if (pidfd >= 0) {
            pollfd p{pidfd, POLLIN, 0};
            poll(&p, 1, static_cast<int>(left * 1000) + 1);
        } else {
            usleep(10000);
        }
    }
}

std::string describe_status(int status) {
    if (WIFSIGNALED(status))
        return fmt::format("killed by signal {}", WTERMSIG(status));
    return fmt::format("exited with status {}", WEXITSTATUS(status));
}

// The session of `pid` as /proc tells it (-1 when it is gone).
long session_of(const std::string &pid) {
    std::ifstream stat("/proc/" + pid + "/stat");
    std::string text;
    std::getline(stat, text);
    const auto close = text.rfind(')');
    if (close == std::string::npos) return -1;
    char state = 0;
    long ppid = 0, group = 0, session = -1;
    if (std::sscanf(text.c_str() + close + 1, " %c %ld %ld %ld", &state, &ppid, &group,
                    &session) != 4)
        return -1;
    return session;
}

// The helper leads a session of its own, and every check child and what
// they start stay in it: when the helper is gone, whatever is left of them
// is found there and killed. A session id is not reused while it has members.
void kill_session(pid_t session) {
    for (int pass = 0; pass < 5; ++pass) {
        bool found = false;
        if (DIR *proc = opendir("/proc")) {
            while (const dirent *entry = readdir(proc)) {
                const std::string name = entry->d_name;
                if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos)
                    continue;
                if (session_of(name) != session) continue;
                kill(static_cast<pid_t>(std::stol(name)), SIGKILL);
                found = true;
            }
            closedir(proc);
        }
        if (!found) return;
        usleep(1000);
    }
}

bool is_program(const std::string &path) { return access(path.c_str(), X_OK) == 0; }

}  // namespace

std::string helper_program() {
    // Next to the daemon (a build tree), else at the install layout's place
    // relative to it (<prefix>/sbin -> <prefix>/libexec/autodnsfailover), so
    // that an installed tree keeps working wherever it is moved.
    std::vector<std::string> candidates;
    char exe[PATH_MAX];
    const ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string dir(exe, static_cast<size_t>(n));
        dir.erase(dir.rfind('/'));
        candidates.push_back(dir + "/" + kProgramName);
        candidates.push_back(
            std::filesystem::path(dir + "/" ADF_CHECKER_FROM_SBIN).lexically_normal().string());
    }
    for (const auto &path : candidates) {
        if (!is_program(path)) continue;
        const std::string problem = plugin::unsafe_file(path, "the file");
        if (!problem.empty())
            throw std::runtime_error(fmt::format("check helper {}: refused: {}", path, problem));
        return path;
    }
    std::string searched;
    for (const auto &path : candidates) searched += (searched.empty() ? "" : ", ") + path;
    throw std::runtime_error(
        fmt::format("the check helper {} is missing: looked for {}", kProgramName, searched));
}

CheckHelper::CheckHelper(const HelperSetup &setup, const std::string &program) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) != 0)
        throw std::runtime_error(system_error("cannot create the check helper's socket"));
    socket_ = pair[0];
    // The helper's end goes to fd 3 in the helper; dup2 onto itself would
    // keep close-on-exec, so it must start elsewhere.
    int theirs = pair[1];
    if (theirs == kHelperSocketFd) {
        theirs = fcntl(pair[1], F_DUPFD_CLOEXEC, kHelperSocketFd + 1);
        close(pair[1]);
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    const int log_fd = log::options().fd;
    if (log_fd != STDERR_FILENO) posix_spawn_file_actions_adddup2(&actions, log_fd, STDERR_FILENO);
    posix_spawn_file_actions_adddup2(&actions, theirs, kHelperSocketFd);
    posix_spawn_file_actions_addclosefrom_np(&actions, kHelperSocketFd + 1);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD}) sigaddset(&defaults, sig);
    posix_spawnattr_setsigmask(&attributes, &none);
    posix_spawnattr_setsigdefault(&attributes, &defaults);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                              POSIX_SPAWN_SETSIGDEF);
    const std::string socket_arg = std::to_string(kHelperSocketFd);
    const std::string parent_arg = std::to_string(getpid());
    // LD_BIND_NOW: the dynamic linker binds every library's symbols at load,
    // once, instead of lazily in every forked check child (each binding is a
    // write to a page the child would copy). The helper removes the variable
    // again so that programs a check runs do not inherit it.
    // systemd's notification variables are the daemon's alone: the helper
    // and what its checks run must neither ping the watchdog nor claim
    // readiness (the unit's NotifyAccess=main would ignore them anyway).
    std::vector<const char *> env;
    const auto inherited = [](const char *entry) {
        for (const char *name : {"LD_BIND_NOW=", "NOTIFY_SOCKET=", "WATCHDOG_USEC=", "WATCHDOG_PID="})
            if (std::strncmp(entry, name, std::strlen(name)) == 0) return false;
        return true;
    };
    for (char **e = environ; *e != nullptr; ++e)
        if (inherited(*e)) env.push_back(*e);
    const bool bind_now_was_set = getenv("LD_BIND_NOW") != nullptr;
    env.push_back("LD_BIND_NOW=1");
    env.push_back(nullptr);
    std::vector<const char *> argv = {program.c_str(), "--socket", socket_arg.c_str(),
                                      "--parent", parent_arg.c_str()};
    if (!bind_now_was_set) argv.push_back("--unset-bind-now");
    argv.push_back(nullptr);
    const int spawned = posix_spawn(&pid_, program.c_str(), &actions, &attributes,
                                    const_cast<char *const *>(argv.data()),
                                    const_cast<char *const *>(env.data()));
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    close(theirs);
    if (spawned != 0) {
        close(socket_);
        errno = spawned;
        throw std::runtime_error(system_error("cannot start the check helper " + program));
    }
    pidfd_ = open_pidfd(pid_);
    try {
        wait_ready(setup, program);
    } catch (...) {
        bury();
        close(socket_);
        if (pidfd_ >= 0) close(pidfd_);
        throw;
    }
    fcntl(socket_, F_SETFL, fcntl(socket_, F_GETFL) | O_NONBLOCK);
}

void CheckHelper::wait_ready(const HelperSetup &setup, const std::string &program) {
    protocol::Setup message{ADF_VERSION, setup.section, setup.plugin_dirs, setup.logging};
    if (!protocol::send_message(socket_, protocol::encode_setup(message)))
        throw std::runtime_error(system_error(
            fmt::format("cannot hand the {} section to the check helper", setup.section.slot)));
    pollfd p{socket_, POLLIN, 0};
    const int ready_in = poll(&p, 1, static_cast<int>(kReadyTimeout * 1000));
    std::string answer, error;
    if (ready_in <= 0 || protocol::receive_message(socket_, answer) != 1)
        throw std::runtime_error(fmt::format(
            "the check helper {} did not start{}", program,
            ready_in == 0 ? fmt::format(" within {:g} s", kReadyTimeout) : " (it ended at once)"));
    const auto ready = protocol::decode_ready(answer, error);
    if (!ready) throw std::runtime_error("the check helper answered oddly: " + error);
    if (!ready->ok) throw config::ConfigError(ready->error);
    plugin_name_ = ready->name;
    capacity_ = std::max(1u, ready->capacity);
}

CheckHelper::~CheckHelper() {
    if (!buried_) {
        shutdown(socket_, SHUT_RDWR);  // the helper kills its attempts and exits
        int status = 0;
        if (!wait_exit(pid_, pidfd_, kExitGrace, status)) bury();
        kill_session(pid_);
    }
    close(socket_);
    if (pidfd_ >= 0) close(pidfd_);
}

bool CheckHelper::send(const std::vector<protocol::Request> &requests) {
    outbox_.push(protocol::encode_checks(requests));
    return outbox_.flush(socket_);
}

bool CheckHelper::receive(std::vector<protocol::Reply> &replies) {
    std::string message;
    for (;;) {
        const int got = protocol::receive_message(socket_, message);
        if (got < 0 && errno == EAGAIN) return true;
        if (got <= 0) return false;
        if (auto decoded = protocol::decode_replies(message))
            for (auto &reply : *decoded) replies.push_back(std::move(reply));
    }
}

void CheckHelper::cancel() {
    outbox_.push(protocol::encode_cancel());
    outbox_.flush(socket_);
}

std::string CheckHelper::bury() {
    if (buried_) return "gone";
    buried_ = true;
    int status = 0;
    // A helper whose socket closed is on its way out: let it say how it ended.
    if (!wait_exit(pid_, pidfd_, 0.5, status)) {
        kill(pid_, SIGKILL);
        wait_exit(pid_, pidfd_, 60, status);
    }
    kill_session(pid_);
    return describe_status(status);
}

}  // namespace adf::isolation
