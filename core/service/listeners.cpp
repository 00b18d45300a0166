#include "service/listeners.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "util/clock.h"

namespace adf::service {
namespace {

std::string why() { return std::strerror(errno); }

bool fill_unix_address(const std::string &path, sockaddr_un &address) {
    address = sockaddr_un{};
    address.sun_family = AF_UNIX;
    if (path.empty() || path.size() >= sizeof address.sun_path) return false;
    std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
    return true;
}

}  // namespace

adf::Result<UniqueFd> listen_tcp(const dnsread::Server &where) {
    using R = adf::Result<UniqueFd>;
    const auto address = socket_address(where.address.text(), where.port);
    if (!address) return R::failure(fmt::format("{} is no socket address", where.text()));
    UniqueFd fd(socket(address->family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return R::failure(fmt::format("cannot create a socket for {}: {}", where.text(), why()));
    const int one = 1;
    setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (address->family() == AF_INET6) setsockopt(fd.get(), IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (bind(fd.get(), address->get(), address->length) != 0)
        return R::failure(fmt::format("cannot listen on {}: {}", where.text(), why()));
    if (listen(fd.get(), 64) != 0)
        return R::failure(fmt::format("cannot listen on {}: {}", where.text(), why()));
    return fd;
}

adf::Result<UniqueFd> listen_unix(const std::string &path) {
    using R = adf::Result<UniqueFd>;
    sockaddr_un address{};
    if (!fill_unix_address(path, address))
        return R::failure(fmt::format("{}: not a usable socket path (at most {} bytes)", path,
                                      sizeof address.sun_path - 1));
    struct stat info {};
    if (lstat(path.c_str(), &info) == 0) {
        if (!S_ISSOCK(info.st_mode))
            return R::failure(fmt::format("{}: exists and is not a socket", path));
        // A live daemon answers: refuse. A socket nobody answers on is what a
        // daemon that died left behind: replace it.
        UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (probe && connect(probe.get(), reinterpret_cast<const sockaddr *>(&address),
                             sizeof address) == 0)
            return R::failure(fmt::format("{}: another daemon answers on it", path));
        unlink(path.c_str());
    }
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd) return R::failure(fmt::format("{}: cannot create a socket: {}", path, why()));
    // Bind with a umask that leaves the group its access and others none;
    // the chmod after it says so again for umasks that take more.
    const mode_t previous = umask(0117);
    const int bound = bind(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address);
    const int saved = errno;
    umask(previous);
    if (bound != 0) {
        errno = saved;
        return R::failure(fmt::format("{}: cannot bind: {}", path, why()));
    }
    chmod(path.c_str(), 0660);
    if (listen(fd.get(), 16) != 0) {
        const std::string reason = why();
        unlink(path.c_str());
        return R::failure(fmt::format("{}: cannot listen: {}", path, reason));
    }
    return fd;
}

adf::Result<std::string> ask_unix(const std::string &path, const std::string &request,
                                  double timeout, size_t max_bytes) {
    using R = adf::Result<std::string>;
    sockaddr_un address{};
    if (!fill_unix_address(path, address)) return R::failure(path + ": not a usable socket path");
    UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return R::failure("cannot create a socket: " + why());
    if (connect(fd.get(), reinterpret_cast<const sockaddr *>(&address), sizeof address) != 0)
        return R::failure(fmt::format("cannot connect to {}: {}", path, why()));
    fcntl(fd.get(), F_SETFL, O_NONBLOCK);
    const double deadline = monotonic_now() + timeout;
    const auto wait_for = [&](short events) {
        const double left = deadline - monotonic_now();
        if (left <= 0) return false;
        pollfd p{fd.get(), events, 0};
        return poll(&p, 1, static_cast<int>(std::ceil(left * 1000))) > 0;
    };
    const std::string line = request + "\n";
    size_t sent = 0;
    while (sent < line.size()) {
        const ssize_t n = send(fd.get(), line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
        if (n > 0) sent += static_cast<size_t>(n);
        else if (n < 0 && errno != EAGAIN && errno != EINTR)
            return R::failure(fmt::format("cannot send to {}: {}", path, why()));
        else if (!wait_for(POLLOUT))
            return R::failure(fmt::format("{}: no room to send within {:g} s", path, timeout));
    }
    std::string answer;
    char buffer[65536];
    for (;;) {
        const ssize_t n = recv(fd.get(), buffer, sizeof buffer, 0);
        if (n == 0) return answer;
        if (n > 0) {
            answer.append(buffer, static_cast<size_t>(n));
            if (answer.size() > max_bytes)
                return R::failure(fmt::format("{}: the answer is larger than {} bytes", path, max_bytes));
        } else if (errno != EAGAIN && errno != EINTR) {
            return R::failure(fmt::format("cannot read from {}: {}", path, why()));
        } else if (!wait_for(POLLIN)) {
            return R::failure(fmt::format("{}: no answer within {:g} s", path, timeout));
        }
    }
}

}  // namespace adf::service
