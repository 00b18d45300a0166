// The peers the benchmark checks: on every local address, a TCP listener
// that accepts and closes, and an HTTP responder that answers "200 OK" to
// any request. They run in a process of their own, so their CPU time and
// memory never count as the daemon's.
#pragma once

#include <sys/types.h>

#include <vector>

namespace bench {

class LocalServers {
   public:
    // Binds both listeners (on 0.0.0.0) and forks the serving process, which
    // also ends by itself after `max_lifetime_s` or when this process dies.
    // Throws std::runtime_error naming the call that failed.
    explicit LocalServers(unsigned max_lifetime_s);
    ~LocalServers();  // stop()
    LocalServers(const LocalServers &) = delete;
    LocalServers &operator=(const LocalServers &) = delete;

    int tcp_port() const { return tcp_port_; }
    int http_port() const { return http_port_; }

    // Ends the serving process and reaps it (its usage then joins this
    // process's RUSAGE_CHILDREN, so read the figures first).
    void stop();

   private:
    int tcp_port_ = 0;
    int http_port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace bench
