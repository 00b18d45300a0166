// Optional C++17 helpers for plugins that use POSIX descriptors and sockets.
// Not part of the ABI; header-only, so each plugin stays self-contained.
//
//   bool check(const std::string &address, int family, double timeout) {
//       const adf::SocketAddress target = adf::peer_address(address, family, 443);
//       adf::UniqueFd socket(::socket(target.family(), SOCK_STREAM | SOCK_CLOEXEC, 0));
//       if (!socket) throw adf::Error(ADF_FAILED, std::string("socket: ") + std::strerror(errno));
//       ::connect(socket.get(), target.get(), target.length);
//       ...                                            // closed when `socket` goes
//   }
//
// adf::socket_address() is the variant that does not throw: nothing when
// the text is not an IPv4 or IPv6 literal (e.g. for a config value).
// adf::read_regular_file() reads a file of bounded size, never a FIFO or a
// device.
#ifndef AUTODNSFAILOVER_POSIX_HPP
#define AUTODNSFAILOVER_POSIX_HPP

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>

#include <cstdint>
#include <cstring>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>

#include "result.hpp"

// Deliberately without plugin.hpp: the daemon's core, which has adf:: names
// of its own, uses these helpers too (through dns_transport.hpp).
namespace adf {

// Owns one file descriptor (or none: -1) and closes it when it goes, so that
// no early return or exception leaks it. Move-only.
class UniqueFd {
   public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    ~UniqueFd() { reset(); }
    UniqueFd(UniqueFd &&other) noexcept : fd_(other.release()) {}
    UniqueFd &operator=(UniqueFd &&other) noexcept {
        if (this != &other) reset(other.release());
        return *this;
    }
    UniqueFd(const UniqueFd &) = delete;
    UniqueFd &operator=(const UniqueFd &) = delete;

    int get() const noexcept { return fd_; }
    bool valid() const noexcept { return fd_ >= 0; }
    explicit operator bool() const noexcept { return valid(); }
    // Hands the descriptor over without closing it.
    int release() noexcept { return std::exchange(fd_, -1); }
    // Closes the descriptor held, if any, and holds `fd` instead.
    void reset(int fd = -1) noexcept {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

   private:
    int fd_ = -1;
};

// An IPv4 or IPv6 socket address and its length, as connect(), sendto() and
// bind() take it (recvfrom() and getsockname() may fill it: set `length` to
// sizeof storage first).
struct SocketAddress {
    sockaddr_storage storage{};
    socklen_t length = sizeof(sockaddr_storage);

    int family() const { return storage.ss_family; }  // AF_INET or AF_INET6
    const sockaddr *get() const { return reinterpret_cast<const sockaddr *>(&storage); }
    sockaddr *get() { return reinterpret_cast<sockaddr *>(&storage); }

    uint16_t port() const {
        return ntohs(family() == AF_INET6 ? ipv6().sin6_port : ipv4().sin_port);
    }
    // The address alone, canonical: "192.0.2.1", "2001:db8::1".
    std::string host() const {
        char text[INET6_ADDRSTRLEN] = "";
        if (family() == AF_INET6)
            ::inet_ntop(AF_INET6, &ipv6().sin6_addr, text, sizeof text);
        else
            ::inet_ntop(AF_INET, &ipv4().sin_addr, text, sizeof text);
        return text;
    }
    // With the port, for messages: "192.0.2.1:53", "[2001:db8::1]:53".
    std::string text() const {
        const std::string port_text = ":" + std::to_string(port());
        return family() == AF_INET6 ? "[" + host() + "]" + port_text : host() + port_text;
    }
    // The same host (family and address), whatever the ports.
    bool same_host(const SocketAddress &other) const {
        if (family() != other.family()) return false;
        if (family() == AF_INET6)
            return std::memcmp(&ipv6().sin6_addr, &other.ipv6().sin6_addr, sizeof(in6_addr)) == 0;
        return ipv4().sin_addr.s_addr == other.ipv4().sin_addr.s_addr;
    }

   private:
    const sockaddr_in &ipv4() const { return reinterpret_cast<const sockaddr_in &>(storage); }
    const sockaddr_in6 &ipv6() const { return reinterpret_cast<const sockaddr_in6 &>(storage); }
};

// `address`, an IPv4 or IPv6 literal (no name is looked up), with `port`;
// nothing when it is not a literal of `family` (4 or 6, as plugin.h's
// adf_family; 0 takes either).
inline std::optional<SocketAddress> socket_address(const std::string &address, uint16_t port = 0,
                                                   int family = 0) {
    SocketAddress out;
    auto &ipv4 = reinterpret_cast<sockaddr_in &>(out.storage);
    auto &ipv6 = reinterpret_cast<sockaddr_in6 &>(out.storage);
    if (family != 6 && ::inet_pton(AF_INET, address.c_str(), &ipv4.sin_addr) == 1) {
        ipv4.sin_family = AF_INET;
        ipv4.sin_port = htons(port);
        out.length = sizeof ipv4;
    } else if (family != 4 && ::inet_pton(AF_INET6, address.c_str(), &ipv6.sin6_addr) == 1) {
        ipv6.sin6_family = AF_INET6;
        ipv6.sin6_port = htons(port);
        out.length = sizeof ipv6;
    } else {
        return std::nullopt;
    }
    return out;
}

// The address a check is asked about (the `address` and `family` of
// check()) with `port`. Throws std::invalid_argument when it is not an
// address of that family (plugin.hpp's glue reports that as ADF_FAILED).
inline SocketAddress peer_address(const std::string &address, int family, uint16_t port = 0) {
    if (auto target = socket_address(address, port, family)) return *target;
    throw std::invalid_argument("\"" + address + "\" is not an IPv" + std::to_string(family) +
                                " address");
}

// What kind of file `mode` is, for "not a regular file" messages.
inline const char *file_type_name(mode_t mode) {
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISSOCK(mode)) return "a socket";
    return "not a regular file";
}

// The content of the regular file at `path`, of at most `max_bytes` bytes.
// Anything else is a failure whose reason says why ("is a FIFO: only
// regular files are read", "is 1048577 bytes, more than the limit of 1048576
// bytes", "No such file or directory"): a FIFO or device never blocks the
// caller and /dev/zero never fills its memory. The reason does not repeat
// the path; the caller names it.
inline Result<std::string> read_regular_file(const std::string &path, std::size_t max_bytes) {
    using Out = Result<std::string>;
    // O_NONBLOCK: opening a FIFO without a writer must not block; it is then
    // refused below anyway.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd) return Out::failure(std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return Out::failure(std::strerror(errno));
    if (!S_ISREG(st.st_mode))
        return Out::failure(std::string("is ") + file_type_name(st.st_mode) +
                            ": only regular files are read");
    const auto too_big = [&](std::size_t size) {
        return Out::failure("is " + std::to_string(size) + " bytes, more than the limit of " +
                            std::to_string(max_bytes) + " bytes");
    };
    if (static_cast<unsigned long long>(st.st_size) > max_bytes)
        return too_big(static_cast<std::size_t>(st.st_size));
    std::string text;
    char buffer[65536];
    for (;;) {
        const ssize_t n = ::read(fd.get(), buffer, sizeof buffer);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return Out::failure(std::strerror(errno));
        if (n == 0) return text;
        if (text.size() + static_cast<std::size_t>(n) > max_bytes)  // it grew while read
            return too_big(text.size() + static_cast<std::size_t>(n));
        text.append(buffer, static_cast<std::size_t>(n));
    }
}

}  // namespace adf

#endif  // AUTODNSFAILOVER_POSIX_HPP
