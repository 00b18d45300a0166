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

constexpr int kBacklog = 1024;
constexpr int kPortAttempts = 20;
constexpr size_t kRequestMax = 16384;
constexpr char kResponse[] =
    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n"
    "Connection: close\r\n\r\nok\n";

std::runtime_error failure(const std::string &what) {
    return std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_in socket_address(const adf::Address &address, int port) {
    if (address.family != 4)
        throw std::runtime_error("local servers listen on IPv4 loopback only, not on " +
                                 address.text());
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(port));
    std::memcpy(&sa.sin_addr, address.bytes.data(), 4);
    return sa;
}

void close_all(std::vector<int> &fds) {
    for (int fd : fds) close(fd);
    fds.clear();
}

// A listening socket on address:port (port 0: any), or -1 with errno set.
int listen_on(const adf::Address &address, int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw failure("socket");
    const int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    const sockaddr_in sa = socket_address(address, port);
    if (bind(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) != 0 ||
        listen(fd, kBacklog) != 0) {
        const int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

int port_of(int fd) {
    sockaddr_in sa{};
    socklen_t length = sizeof sa;
    if (getsockname(fd, reinterpret_cast<sockaddr *>(&sa), &length) != 0)
        throw failure("getsockname");
    return ntohs(sa.sin_port);
}

// Listeners on every address, all on one port that the kernel picks for the
// first address; another port is tried when that one is taken elsewhere.
std::vector<int> listen_on_all(const std::vector<adf::Address> &addresses, int &port) {
    std::vector<int> fds;
    for (int attempt = 0; attempt < kPortAttempts; ++attempt) {
        port = 0;
        for (const adf::Address &address : addresses) {
            const int fd = listen_on(address, port);
            if (fd < 0) {
                if (errno == EADDRINUSE && port != 0) break;
                const std::string where = address.text() + ":" + std::to_string(port);
                close_all(fds);
                throw failure("cannot listen on " + where);
            }
            fds.push_back(fd);
            if (port == 0) port = port_of(fd);
        }
        if (fds.size() == addresses.size()) return fds;
        close_all(fds);
    }
    throw std::runtime_error("no TCP port was free on all " + std::to_string(addresses.size()) +
                             " local addresses after " + std::to_string(kPortAttempts) +
                             " tries");
}

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

LocalServers::LocalServers(const std::vector<adf::Address> &addresses, unsigned max_lifetime_s) {
    std::vector<int> tcp = listen_on_all(addresses, tcp_port_);
    std::vector<int> http;
    try {
        http = listen_on_all(addresses, http_port_);
    } catch (...) {
        close_all(tcp);
        throw;
    }
    pid_ = fork();
    if (pid_ < 0) {
        const std::runtime_error error = failure("cannot fork the local servers");
        close_all(tcp);
        close_all(http);
        throw error;
    }
    if (pid_ == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        signal(SIGPIPE, SIG_IGN);
        alarm(max_lifetime_s);
        Serving(std::move(tcp), std::move(http)).run();
    }
    close_all(tcp);
    close_all(http);
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
