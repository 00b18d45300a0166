#include "file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>
#include <thread>

#include <autodnsfailover/plugin.hpp>

namespace zonefile {

ExclusiveFileLock::ExclusiveFileLock(const std::string &path, double timeout) {
    // Read-only is enough for flock(), and works when another user created
    // the lock file.
    fd_ = ::open(path.c_str(), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        throw adf::Error(ADF_FAILED,
                         "cannot open the lock file " + path + ": " + std::strerror(errno));
    // Poll instead of blocking: a process that hangs while holding the lock
    // must cost this daemon one round, not its life.
    const auto deadline = std::chrono::steady_clock::now() +
                          std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                              std::chrono::duration<double>(timeout));
    auto pause = std::chrono::milliseconds(1);
    while (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        const int error = errno;
        if (error == EINTR) continue;
        if (error != EWOULDBLOCK || std::chrono::steady_clock::now() >= deadline) {
            ::close(fd_);
            fd_ = -1;
            if (error == EWOULDBLOCK) {
                std::ostringstream message;
                message << "another process has held the lock file " << path
                        << " for more than " << timeout << " s";
                throw adf::Error(ADF_TRANSIENT, message.str());
            }
            throw adf::Error(ADF_FAILED,
                             "cannot lock " + path + ": " + std::strerror(error));
        }
        std::this_thread::sleep_for(pause);
        pause = std::min(pause * 2, std::chrono::milliseconds(50));
    }
}

ExclusiveFileLock::~ExclusiveFileLock() {
    if (fd_ >= 0) ::close(fd_);
}

}  // namespace zonefile
