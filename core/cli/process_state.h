// What this process holds that a plugin may have left behind: open file
// descriptors, threads, and other processes in a process group. plugin-test
// compares them before and after a plugin's calls (plugin.h's rules on
// forks, descriptors and threads).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace adf::cli {

struct OpenFd {
    int fd = -1;
    std::string target;    // what /proc/self/fd/N points to: a path, "socket:[123]"...
    bool cloexec = false;  // FD_CLOEXEC set
};

// Every descriptor open in this process (but the one used to list them).
std::vector<OpenFd> open_fds();

// The descriptors of `after` that `before` does not have (by number and target).
std::vector<OpenFd> fds_added(const std::vector<OpenFd> &before, const std::vector<OpenFd> &after);

// "5 (socket:[1234]), 7 (/tmp/x)".
std::string describe(const std::vector<OpenFd> &fds);

// Threads of this process, itself included.
size_t thread_count();

// Live processes (zombies left out) of process group `group`, but `except`:
// "4711 (sleep)".
std::vector<std::string> processes_in_group(pid_t group, pid_t except);

}  // namespace adf::cli
