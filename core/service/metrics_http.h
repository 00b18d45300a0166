// The metrics listener, a Participant of the service thread: HTTP served by
// libmicrohttpd in its "external epoll" mode (no thread of its own; the
// service thread polls its epoll descriptor and calls MHD_run). GET /metrics
// answers the Prometheus text exposition; every other path is 404.
#pragma once

#include <functional>
#include <string>

#include <autodnsfailover/posix.hpp>

#include "service/reactor.h"

struct MHD_Daemon;

namespace adf::service {

class MetricsHttp : public Participant {
   public:
    using Body = std::function<std::string()>;
    // Serves on `listener` (listen_tcp); `where` names it in messages.
    // Throws std::runtime_error when libmicrohttpd refuses to start.
    MetricsHttp(UniqueFd listener, std::string where, Body exposition);
    ~MetricsHttp() override;
    MetricsHttp(const MetricsHttp &) = delete;
    MetricsHttp &operator=(const MetricsHttp &) = delete;

    std::string name() const override { return "metrics"; }
    void fds(std::vector<pollfd> &out) override;
    double deadline() override;
    void run(const std::vector<pollfd> &ready, double now) override;
    const std::string &where() const { return where_; }

    // The exposition, for the request handler.
    std::string body() const { return exposition_(); }

   private:
    UniqueFd listener_;
    std::string where_;
    Body exposition_;
    MHD_Daemon *daemon_ = nullptr;
    int epoll_fd_ = -1;
};

}  // namespace adf::service
