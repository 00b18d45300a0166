// check-deadlist: a check whose verdict a test controls through a file. An
// address is dead while it appears as a line of "dead_file" (re-read on
// every check; a missing file means everybody is alive). "delay" seconds
// are slept first, to make checks slow on purpose. "misbehave" maps an
// address to "segfault", "abort", "hang" or "throw": the check of that one
// address then crashes, aborts, never returns or throws, so tests can show
// that a running daemon survives it.
#include <autodnsfailover/plugin.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <map>
#include <stdexcept>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <thread>

namespace {

class DeadList {
   public:
    explicit DeadList(adf::Host &host)
        : host_(host),
          dead_file_(host.string("/dead_file").value_or("")),
          delay_(host.number("/delay", 0.0, 0.0, 3600.0)) {
        for (const auto &address : host.members("/misbehave"))
            misbehave_[address] = host.string(("/misbehave/" + address).c_str(), "");
        if (!host.has("/dead_file"))
            host.config_error("/dead_file", "required: the file listing dead addresses, one a line");
    }

    bool check(const std::string &address, int family, double) {
        misbehave(address);
        if (delay_ > 0) std::this_thread::sleep_for(std::chrono::duration<double>(delay_));
        std::string content;
        if (!read_dead_file(content)) return true;
        std::istringstream lines(content);
        for (std::string line; std::getline(lines, line);) {
            const auto listed = adf::canonical_address(line, family);
            if (listed && *listed == address) {
                host_.set_error(address + " is listed in " + dead_file_);
                return false;
            }
        }
        return true;
    }

   private:
    void misbehave(const std::string &address) const {
        const auto how = misbehave_.find(address);
        if (how == misbehave_.end()) return;
        if (how->second == "segfault") std::raise(SIGSEGV);
        if (how->second == "abort") std::abort();
        if (how->second == "hang")
            for (;;) pause();
        if (how->second == "throw") throw std::runtime_error("check-deadlist threw on purpose");
    }

    // False when the file does not exist; throws when it cannot be read.
    bool read_dead_file(std::string &content) const {
        std::FILE *file = std::fopen(dead_file_.c_str(), "r");
        if (file == nullptr) {
            if (errno == ENOENT) return false;
            throw adf::Error(ADF_FAILED,
                             "cannot read " + dead_file_ + ": " + std::strerror(errno));
        }
        char buffer[4096];
        size_t n;
        while ((n = std::fread(buffer, 1, sizeof buffer, file)) > 0) content.append(buffer, n);
        const bool failed = std::ferror(file) != 0;
        std::fclose(file);
        if (failed) throw adf::Error(ADF_FAILED, "cannot read " + dead_file_);
        return true;
    }

    adf::Host &host_;
    std::string dead_file_;
    double delay_;
    std::map<std::string, std::string> misbehave_;
};

}  // namespace

ADF_CHECK_PLUGIN(DeadList, "check-deadlist", "1.0.0",
                 "test double: dead while the address is a line of dead_file");
