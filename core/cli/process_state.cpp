#include "cli/process_state.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace adf::cli {
namespace {

bool is_number(const char *text) {
    if (*text == '\0') return false;
    for (; *text != '\0'; ++text)
        if (*text < '0' || *text > '9') return false;
    return true;
}

// The numeric entries of a /proc directory ("/proc/self/fd", "/proc").
template <class Visit>
void each_number_in(const char *directory, Visit visit) {
    DIR *stream = opendir(directory);
    if (stream == nullptr) return;
    const int own = dirfd(stream);
    while (const dirent *entry = readdir(stream)) {
        if (!is_number(entry->d_name)) continue;
        const long number = std::strtol(entry->d_name, nullptr, 10);
        if (number != own) visit(number);
    }
    closedir(stream);
}

}  // namespace

std::vector<OpenFd> open_fds() {
    std::vector<OpenFd> fds;
    each_number_in("/proc/self/fd", [&](long number) {
        OpenFd fd;
        fd.fd = static_cast<int>(number);
        char target[512];
        const std::string link = fmt::format("/proc/self/fd/{}", number);
        const ssize_t n = readlink(link.c_str(), target, sizeof target - 1);
        fd.target = n > 0 ? std::string(target, static_cast<size_t>(n)) : "?";
        const int flags = fcntl(fd.fd, F_GETFD);
        fd.cloexec = flags >= 0 && (flags & FD_CLOEXEC) != 0;
        fds.push_back(std::move(fd));
    });
    return fds;
}

std::vector<OpenFd> fds_added(const std::vector<OpenFd> &before, const std::vector<OpenFd> &after) {
    std::vector<OpenFd> added;
    for (const auto &fd : after) {
        bool known = false;
        for (const auto &old : before) known |= old.fd == fd.fd && old.target == fd.target;
        if (!known) added.push_back(fd);
    }
    return added;
}

std::string describe(const std::vector<OpenFd> &fds) {
    std::string text;
    for (const auto &fd : fds)
        text += fmt::format("{}{} ({})", text.empty() ? "" : ", ", fd.fd, fd.target);
    return text;
}

size_t thread_count() {
    size_t count = 0;
    each_number_in("/proc/self/task", [&](long) { ++count; });
    return count;
}

std::vector<std::string> processes_in_group(pid_t group, pid_t except) {
    std::vector<std::string> found;
    each_number_in("/proc", [&](long pid) {
        if (pid == except) return;
        // /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may hold
        // spaces and parentheses, so parse after its last ')'.
        std::ifstream stat(fmt::format("/proc/{}/stat", pid));
        std::string line;
        if (!std::getline(stat, line)) return;
        const size_t open = line.find('('), close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos) return;
        std::istringstream rest(line.substr(close + 1));
        char state = '?';
        long parent = 0, pgrp = 0;
        rest >> state >> parent >> pgrp;
        if (pgrp == group && state != 'Z')
            found.push_back(fmt::format("{} ({})", pid, line.substr(open + 1, close - open - 1)));
    });
    return found;
}

}  // namespace adf::cli
