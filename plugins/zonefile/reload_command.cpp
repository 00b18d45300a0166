#include "reload_command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

extern char **environ;

namespace zonefile {
namespace {

constexpr size_t kStderrLimit = 4096;

using Clock = std::chrono::steady_clock;

// File actions and attributes of posix_spawn, destroyed on every path.
struct SpawnSetup {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    SpawnSetup() {
        posix_spawn_file_actions_init(&actions);
        posix_spawnattr_init(&attributes);
    }
    ~SpawnSetup() {
        posix_spawn_file_actions_destroy(&actions);
        posix_spawnattr_destroy(&attributes);
    }
};

struct Pipe {
    int read_end = -1;
    int write_end = -1;
    ~Pipe() {
        if (read_end >= 0) ::close(read_end);
        if (write_end >= 0) ::close(write_end);
    }
};

std::string trimmed(const std::string &text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

std::string describe_status(int status) {
    std::ostringstream out;
    if (WIFEXITED(status))
        out << "exited with status " << WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        out << "was killed by signal " << WTERMSIG(status) << " (" << strsignal(WTERMSIG(status))
            << ")";
    else
        out << "ended with wait status " << status;
    return out.str();
}

// Reads what is available on `fd` into `sink` (up to the limit); false at
// end of file or on error.
bool drain(int fd, std::string &sink) {
    char buffer[1024];
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) return errno == EINTR || errno == EAGAIN;
    if (n == 0) return false;
    if (sink.size() < kStderrLimit)
        sink.append(buffer, std::min(static_cast<size_t>(n), kStderrLimit - sink.size()));
    return true;
}

}  // namespace

std::string describe_command(const std::vector<std::string> &argv) {
    std::string line;
    for (const std::string &word : argv) {
        if (!line.empty()) line += ' ';
        const bool plain = !word.empty() && word.find_first_of(" \t\n'\"\\$`") == std::string::npos;
        line += plain ? word : "\"" + word + "\"";
    }
    return line;
}

CommandOutcome run_command(const std::vector<std::string> &argv, double timeout) {
    CommandOutcome outcome;
    if (argv.empty()) {
        outcome.summary = "has no program to run";
        return outcome;
    }
    Pipe err;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
        outcome.summary = std::string("could not be started: pipe: ") + std::strerror(errno);
        return outcome;
    }
    err.read_end = fds[0];
    err.write_end = fds[1];
    ::fcntl(err.read_end, F_SETFL, O_NONBLOCK);

    SpawnSetup setup;
    posix_spawn_file_actions_addopen(&setup.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&setup.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&setup.actions, err.write_end, STDERR_FILENO);
    // Its own process group, so a timeout kills whatever it started too; and
    // the default signal handling whatever the daemon ignores or blocks.
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int signal_number : {SIGPIPE, SIGCHLD, SIGHUP, SIGINT, SIGTERM, SIGALRM})
        sigaddset(&defaults, signal_number);
    posix_spawnattr_setpgroup(&setup.attributes, 0);
    posix_spawnattr_setsigmask(&setup.attributes, &none);
    posix_spawnattr_setsigdefault(&setup.attributes, &defaults);
    posix_spawnattr_setflags(&setup.attributes,
                             POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char *> args;
    for (const std::string &word : argv) args.push_back(const_cast<char *>(word.c_str()));
    args.push_back(nullptr);

    pid_t pid = -1;
    const int spawn_error =
        posix_spawnp(&pid, args[0], &setup.actions, &setup.attributes, args.data(), environ);
    if (spawn_error != 0) {
        outcome.summary = std::string("could not be started: ") + std::strerror(spawn_error);
        return outcome;
    }
    ::close(err.write_end);
    err.write_end = -1;

    const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(
                                             std::chrono::duration<double>(timeout));
    bool stderr_open = true;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(pid, &status, WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR)) {
            while (stderr_open && drain(err.read_end, outcome.stderr_text)) {
                pollfd ready{err.read_end, POLLIN, 0};
                if (::poll(&ready, 1, 0) <= 0) break;
            }
            if (done < 0) {
                outcome.summary = std::string("ended, but its exit status is unknown: waitpid: ") +
                                  std::strerror(errno);
            } else {
                outcome.ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
                outcome.summary = describe_status(status);
            }
            break;
        }
        if (Clock::now() >= deadline) {
            ::kill(-pid, SIGKILL);
            ::waitpid(pid, &status, 0);
            std::ostringstream message;
            message << "did not finish within " << timeout << " s and was killed";
            outcome.summary = message.str();
            break;
        }
        // Short waits: the program may exit while a child of it keeps stderr open.
        pollfd ready{err.read_end, POLLIN, 0};
        const int waited = ::poll(&ready, stderr_open ? 1 : 0, 20);
        if (waited > 0 && stderr_open) stderr_open = drain(err.read_end, outcome.stderr_text);
    }
    outcome.stderr_text = trimmed(outcome.stderr_text);
    return outcome;
}

}  // namespace zonefile
