#include "local_servers.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <stdexcept>
#include <string>

namespace bench {
namespace {

constexpr int kBacklog = 4096;
constexpr size_t kRequestMax = 16384;
constexpr char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";

std::runtime_error failure(const std::string &what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

// A listener on every local IPv4 address (so on any number of peers the
// benchmark's namespace routes to loopback), on a port the kernel picks.
int listen_on_any(int &port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw failure("socket");
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    socklen_t length = sizeof sa;
    if (bind(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) != 0 ||
        listen(fd, kBacklog) != 0 ||
        getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &length) != 0) {
        const std::runtime_error error = failure("cannot listen on 0.0.0.0");
        close(fd);
        throw error;
    }
    port = ntohs(sa.sin_port);
    return fd;
}

}  // namespace

namespace {

// The serving process: one poll loop over every listener and open HTTP
// connection. It never returns; SIGTERM, SIGALRM or its parent's death end it.
class Serving {
   public:
    Serving(std::vector<int> tcp, std::vector<int> http)
        : tcp_(std::move(tcp)), http_(std::move(http)) {}

    [[noreturn]] void run() {
        for (;;) {
            std::vector<pollfd> fds;
            for (int fd : tcp_) fds.push_back({fd, POLLIN, 0});
            for (int fd : http_) fds.push_back({fd, POLLIN, 0});
            for (const auto &connection : requests_) fds.push_back({connection.first, POLLIN, 0});
            if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) _exit(1);
            size_t i = 0;
            for (; i < tcp_.size(); ++i)
                if (fds[i].revents) accept_and_close(fds[i].fd);
            for (; i < tcp_.size() + http_.size(); ++i)
                if (fds[i].revents) accept_requests(fds[i].fd);
            for (; i < fds.size(); ++i)
                if (fds[i].revents) serve(fds[i].fd);
        }
    }

   private:
    static void accept_and_close(int listener) {
        for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC)) >= 0;) close(fd);
    }

    void accept_requests(int listener) {
        for (int fd; (fd = accept4(listener, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;)
            requests_[fd];
    }

    // Reads the request head; answers once it is complete.
    void serve(int fd) {
        std::string &request = requests_[fd];
        char buffer[4096];
        const ssize_t n = read(fd, buffer, sizeof buffer);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        if (n > 0) request.append(buffer, static_cast<size_t>(n));
        const bool complete = request.find("\r\n\r\n") != std::string::npos;
        if (complete) {
            const ssize_t written = write(fd, kResponse, sizeof kResponse - 1);
            (void)written;  // a client that went away needs no answer
        }
        if (complete || n <= 0 || request.size() > kRequestMax) {
            close(fd);
            requests_.erase(fd);
        }
    }

    std::vector<int> tcp_, http_;
    std::map<int, std::string> requests_;  // open HTTP connections
};

}  // namespace

LocalServers::LocalServers(unsigned max_lifetime_s) {
    std::vector<int> tcp{listen_on_any(tcp_port_)};
    std::vector<int> http;
    try {
        http.push_back(listen_on_any(http_port_));
    } catch (...) {
        close(tcp.front());
        throw;
    }
    pid_ = fork();
    if (pid_ < 0) {
        const std::runtime_error error = failure("cannot fork the local servers");
        close(tcp.front());
        close(http.front());
        throw error;
    }
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGPIPE, SIG_IGN);
        alarm(max_lifetime_s);
        Serving(std::move(tcp), std::move(http)).run();
    }
    close(tcp.front());
    close(http.front());
}

LocalServers::~LocalServers() { stop(); }

void LocalServers::stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
}

}  // namespace bench
