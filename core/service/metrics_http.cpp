#include "service/metrics_http.h"

#include <microhttpd.h>

#include <cstring>
#include <limits>
#include <stdexcept>

#include "util/clock.h"

namespace adf::service {
namespace {

constexpr const char *kExpositionType = "text/plain; version=0.0.4; charset=utf-8";

MHD_Result respond(MHD_Connection *connection, unsigned status, const std::string &body,
                   const char *type) {
    MHD_Response *response = MHD_create_response_from_buffer(
        body.size(), const_cast<char *>(body.data()), MHD_RESPMEM_MUST_COPY);
    if (response == nullptr) return MHD_NO;
    MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    const MHD_Result result = MHD_queue_response(connection, status, response);
    MHD_destroy_response(response);
    return result;
}

MHD_Result handle(void *self, MHD_Connection *connection, const char *url, const char *method,
                  const char * /*version*/, const char * /*upload*/, size_t *upload_size,
                  void ** /*state*/) {
    if (*upload_size != 0) {
        *upload_size = 0;  // a body nobody asked for is read and ignored
        return MHD_YES;
    }
    if (std::strcmp(method, "GET") != 0 && std::strcmp(method, "HEAD") != 0)
        return respond(connection, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET\n", "text/plain");
    if (std::strcmp(url, "/metrics") == 0)
        return respond(connection, MHD_HTTP_OK, static_cast<MetricsHttp *>(self)->body(),
                       kExpositionType);
    if (std::strcmp(url, "/") == 0)
        return respond(connection, MHD_HTTP_OK, "autodnsfailover: metrics at /metrics\n",
                       "text/plain");
    return respond(connection, MHD_HTTP_NOT_FOUND, "not found; metrics at /metrics\n",
                   "text/plain");
}

}  // namespace

MetricsHttp::MetricsHttp(UniqueFd listener, std::string where, Body exposition)
    : listener_(std::move(listener)), where_(std::move(where)), exposition_(std::move(exposition)) {
    daemon_ = MHD_start_daemon(MHD_USE_EPOLL, 0, nullptr, nullptr, &handle, this,
                               MHD_OPTION_LISTEN_SOCKET, listener_.get(),
                               MHD_OPTION_CONNECTION_LIMIT, 32u, MHD_OPTION_CONNECTION_TIMEOUT,
                               10u, MHD_OPTION_END);
    if (daemon_ == nullptr)
        throw std::runtime_error("libmicrohttpd cannot serve metrics on " + where_);
    const MHD_DaemonInfo *info = MHD_get_daemon_info(daemon_, MHD_DAEMON_INFO_EPOLL_FD);
    epoll_fd_ = info != nullptr ? info->epoll_fd : -1;
    if (epoll_fd_ < 0) {
        MHD_stop_daemon(daemon_);
        throw std::runtime_error("libmicrohttpd gave no epoll descriptor for " + where_);
    }
}

MetricsHttp::~MetricsHttp() {
    if (daemon_ != nullptr) MHD_stop_daemon(daemon_);  // it closes the listener it was given
    listener_.release();
}

void MetricsHttp::fds(std::vector<pollfd> &out) { out.push_back({epoll_fd_, POLLIN, 0}); }

double MetricsHttp::deadline() {
    MHD_UNSIGNED_LONG_LONG ms = 0;
    if (MHD_get_timeout(daemon_, &ms) != MHD_YES) return std::numeric_limits<double>::infinity();
    return monotonic_now() + static_cast<double>(ms) / 1000.0;
}

void MetricsHttp::run(const std::vector<pollfd> & /*ready*/, double /*now*/) { MHD_run(daemon_); }

}  // namespace adf::service
