#include "service/control_server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <limits>

namespace adf::service {
namespace {

constexpr size_t kMaxClients = 16;
constexpr double kClientTimeout = 5;   // seconds
constexpr size_t kMaxRequest = 4096;   // bytes of one request line

}  // namespace

ControlServer::ControlServer(UniqueFd listener, std::string path, Handler answer)
    : listener_(std::move(listener)), path_(std::move(path)), answer_(std::move(answer)) {}

ControlServer::~ControlServer() {
    clients_.clear();
    listener_.reset();
    unlink(path_.c_str());
}

void ControlServer::fds(std::vector<pollfd> &out) {
    if (clients_.size() < kMaxClients) out.push_back({listener_.get(), POLLIN, 0});
    for (const auto &c : clients_)
        out.push_back({c.fd.get(), static_cast<short>(c.answered ? POLLOUT : POLLIN), 0});
}

double ControlServer::deadline() {
    double next = std::numeric_limits<double>::infinity();
    for (const auto &c : clients_) next = std::min(next, c.expires);
    return next;
}

void ControlServer::accept_clients(double now) {
    while (clients_.size() < kMaxClients) {
        const int fd = accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        clients_.push_back(Client{UniqueFd(fd), "", "", 0, false, now + kClientTimeout});
    }
}

void ControlServer::serve(Client &c, short revents) {
    if (!c.answered && (revents & (POLLIN | POLLHUP))) {
        char buffer[1024];
        const ssize_t n = recv(c.fd.get(), buffer, sizeof buffer, 0);
        if (n > 0) c.in.append(buffer, static_cast<size_t>(n));
        const size_t newline = c.in.find('\n');
        if (newline == std::string::npos && n > 0 && c.in.size() <= kMaxRequest) return;
        if (newline == std::string::npos && n < 0 && errno == EAGAIN) return;
        // A whole line, or the client's end, or too much: answer what we have.
        std::string request = c.in.substr(0, std::min(newline, kMaxRequest));
        if (!request.empty() && request.back() == '\r') request.pop_back();
        c.out = answer_(request);
        c.answered = true;
    }
    if (c.answered && c.sent < c.out.size()) {
        const ssize_t n = send(c.fd.get(), c.out.data() + c.sent, c.out.size() - c.sent,
                               MSG_NOSIGNAL);
        if (n > 0) c.sent += static_cast<size_t>(n);
        else if (n < 0 && errno != EAGAIN && errno != EINTR) c.sent = c.out.size();
    }
}

void ControlServer::run(const std::vector<pollfd> &ready, double now) {
    for (const auto &p : ready) {
        if (p.fd == listener_.get()) {
            if (p.revents & POLLIN) accept_clients(now);
            continue;
        }
        for (auto &c : clients_)
            if (c.fd.get() == p.fd && p.revents != 0) serve(c, p.revents);
    }
    clients_.remove_if([&](const Client &c) {
        return (c.answered && c.sent >= c.out.size()) || now >= c.expires;
    });
}

}  // namespace adf::service
