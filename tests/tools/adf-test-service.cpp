// adf-test-service --listen ADDRESS:PORT [--listen ...] [--status N]
// Accepts connections and answers each with a minimal HTTP response
// ("HTTP/1.0 N ...", body "ok"), so tcp-check and http-check both pass.
// Runs until SIGTERM or SIGINT.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_stop(int) { g_stop = 1; }

int listen_on(const std::string &spec) {
    const auto colon = spec.rfind(':');
    if (colon == std::string::npos) return -1;
    std::string host = spec.substr(0, colon);
    const int port = std::atoi(spec.c_str() + colon + 1);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    sockaddr_storage ss{};
    socklen_t len = 0;
    auto *v4 = reinterpret_cast<sockaddr_in *>(&ss);
    auto *v6 = reinterpret_cast<sockaddr_in6 *>(&ss);
    if (inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v4;
    } else if (inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(static_cast<uint16_t>(port));
        len = sizeof *v6;
    } else {
        return -1;
    }
    const int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, reinterpret_cast<sockaddr *>(&ss), len) != 0 || listen(fd, 128) != 0) {
        std::fprintf(stderr, "adf-test-service: cannot listen on %s: %s\n", spec.c_str(),
                     std::strerror(errno));
        std::exit(1);
    }
    return fd;
}

void answer(int listener, int status) {
    const int client = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    pollfd p{client, POLLIN, 0};
    char buffer[4096];
    if (poll(&p, 1, 200) > 0) {
        ssize_t n = read(client, buffer, sizeof buffer);
        (void)n;
    }
    const std::string reply = "HTTP/1.0 " + std::to_string(status) +
                              " Status\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n";
    ssize_t n = write(client, reply.data(), reply.size());
    (void)n;
    close(client);
}

}  // namespace

int main(int argc, char **argv) {
    std::vector<int> listeners;
    int status = 200;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string flag = argv[i];
        if (flag == "--listen") {
            const int fd = listen_on(argv[i + 1]);
            if (fd < 0) {
                std::fprintf(stderr, "adf-test-service: bad --listen %s\n", argv[i + 1]);
                return 2;
            }
            listeners.push_back(fd);
        } else if (flag == "--status") {
            status = std::atoi(argv[i + 1]);
        }
    }
    if (listeners.empty()) {
        std::fprintf(stderr, "usage: adf-test-service --listen ADDRESS:PORT [--status N]\n");
        return 2;
    }
    signal(SIGTERM, on_stop);
    signal(SIGINT, on_stop);
    signal(SIGPIPE, SIG_IGN);
    std::vector<pollfd> fds;
    for (int fd : listeners) fds.push_back({fd, POLLIN, 0});
    while (!g_stop) {
        if (poll(fds.data(), fds.size(), 200) <= 0) continue;
        for (const auto &p : fds)
            if (p.revents & POLLIN) answer(p.fd, status);
    }
    return 0;
}
