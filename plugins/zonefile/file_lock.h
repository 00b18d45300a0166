// An exclusive flock() on a lock file, held for the lifetime of the object.
// The zone file itself cannot carry the lock: it is replaced by rename(), so
// a lock on it would guard a file nobody reads any more.
#pragma once

#include <string>

namespace zonefile {

class ExclusiveFileLock {
   public:
    // Creates `path` when missing and waits at most `timeout` seconds for the
    // lock. Throws adf::Error: ADF_TRANSIENT when another process keeps it
    // longer, ADF_FAILED when the file cannot be opened.
    ExclusiveFileLock(const std::string &path, double timeout);
    ~ExclusiveFileLock();  // closing the descriptor releases the lock
    ExclusiveFileLock(const ExclusiveFileLock &) = delete;
    ExclusiveFileLock &operator=(const ExclusiveFileLock &) = delete;

   private:
    int fd_ = -1;
};

}  // namespace zonefile
