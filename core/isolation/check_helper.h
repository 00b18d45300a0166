// The daemon's end of one check helper process (checker.h): starts it,
// hands it the check section, sends check requests and reads verdicts over a
// SOCK_SEQPACKET socket pair, and stops it, or buries it when it died, with
// every process it had started.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "config/config.h"
#include "isolation/protocol.h"
#include "logging/log.h"

namespace adf::isolation {

// What a helper needs to create the check plugin itself.
struct HelperSetup {
    config::PluginSection section;         // the config's "check" section
    std::vector<std::string> plugin_dirs;  // where to look for it by name
    log::Options logging;                  // its log lines join the daemon's, alike
};

// The helper program: autodnsfailover-checker next to the running binary (a
// build tree), else in the install location (libexec). Throws
// std::runtime_error naming both places when neither holds a safe file.
std::string helper_program();

class CheckHelper {
   public:
    // Starts `program` and waits until it has created the plugin. Throws
    // config::ConfigError with the helper's reason (plugin not found or
    // refused, a bad key in the section) and std::runtime_error when the
    // helper cannot run at all.
    CheckHelper(const HelperSetup &setup, const std::string &program);
    // Stops the helper: it kills its attempts and exits; what is left of it
    // is killed.
    ~CheckHelper();
    CheckHelper(const CheckHelper &) = delete;
    CheckHelper &operator=(const CheckHelper &) = delete;

    const std::string &plugin_name() const { return plugin_name_; }
    unsigned capacity() const { return capacity_; }  // attempts it can hold at once
    pid_t pid() const { return pid_; }
    int fd() const { return socket_; }  // readable: verdicts, or the helper's end

    // Queues the requests and sends what the socket takes now; false when
    // the helper is gone (then bury() it).
    bool send(const std::vector<protocol::Request> &requests);
    // Requests wait for room: poll for POLLOUT too, then flush().
    bool wants_to_send() const { return !outbox_.empty(); }
    bool flush() { return outbox_.flush(socket_); }
    // Appends the verdicts waiting; false when the helper is gone.
    bool receive(std::vector<protocol::Reply> &replies);
    // Kills every attempt in flight; their verdicts never come.
    void cancel();
    // Kills what is left of a helper that is gone or stopped answering, and
    // reaps it: "died (killed by signal 9)", "exited with status 1".
    std::string bury();

   private:
    void wait_ready(const HelperSetup &setup, const std::string &program);

    pid_t pid_ = -1;
    int socket_ = -1;
    int pidfd_ = -1;
    std::string plugin_name_;
    unsigned capacity_ = 1;
    bool buried_ = false;
    protocol::Outbox outbox_;
};

}  // namespace adf::isolation
