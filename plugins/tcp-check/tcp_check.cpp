// tcp-check: a peer is alive when it accepts a TCP connection on `port`,
// optionally after sending `send` and reading a banner that starts with
// `expect` ("SSH-2.0", "220 "). Everything (connect, send, read) shares one
// deadline a little inside the check's timeout, so the check ends with a
// clear reason before the host would have to kill it.
#include <autodnsfailover/check_deadline.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/posix.hpp>

#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <string>

namespace {

constexpr size_t kBannerShown = 64;  // bytes of a wrong banner quoted in the reason

// "after 0.9 s": how long a check that ran out of time waited.
std::string after_budget(const adf::CheckDeadline &deadline) {
    return "after " + adf::seconds_text(deadline.budget());
}

// Printable, quoted text of what a server sent: the first line, escaped.
std::string quoted(const std::string &bytes) {
    const size_t line_end = std::min(bytes.find_first_of("\r\n"), bytes.size());
    const size_t shown = std::min(line_end, kBannerShown);
    std::string out = "\"";
    for (size_t i = 0; i < shown; ++i) {
        const unsigned char c = static_cast<unsigned char>(bytes[i]);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            char hex[5];
            std::snprintf(hex, sizeof hex, "\\x%02x", c);
            out += hex;
        } else {
            out += static_cast<char>(c);
        }
    }
    if (shown < line_end) out += "...";
    return out + "\"";
}

class TcpCheck {
   public:
    explicit TcpCheck(adf::Host &host)
        : port_(static_cast<int>(host.integer("/port", 0, 1, 65535))),
          send_(host.string("/send")),
          expect_(host.string("/expect")) {
        if (!host.has("/port"))
            host.config_error("/port", "required: the TCP port to connect to (1 to 65535)");
        if (expect_ && expect_->empty())
            host.config_error("/expect",
                              "must not be empty: leave it out to only check the connection");
    }

    bool check(const std::string &address, int family, double timeout) const {
        const adf::CheckDeadline deadline(timeout);
        const adf::SocketAddress target =
            adf::peer_address(address, family, static_cast<uint16_t>(port_));
        const adf::UniqueFd socket(
            ::socket(target.family(), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
        if (!socket) throw system_error("cannot create a socket");
        connect_to(socket.get(), target, deadline);
        if (send_ && !send_->empty()) send_all(socket.get(), deadline);
        if (expect_) read_banner(socket.get(), deadline);
        return true;
    }

   private:
    // Connects `fd` or throws saying why it could not.
    static void connect_to(int fd, const adf::SocketAddress &target,
                           const adf::CheckDeadline &deadline) {
        if (connect(fd, target.get(), target.length) == 0) return;
        if (errno != EINPROGRESS) throw connect_error(errno);
        if (!wait_until(fd, POLLOUT, deadline))
            throw adf::Error(ADF_FAILED, "connect timed out " + after_budget(deadline));
        int error = 0;
        socklen_t size = sizeof error;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
            throw system_error("getsockopt(SO_ERROR)");
        if (error != 0) throw connect_error(error);
    }

    void send_all(int fd, const adf::CheckDeadline &deadline) const {
        size_t sent = 0;
        while (sent < send_->size()) {
            const ssize_t n =
                ::send(fd, send_->data() + sent, send_->size() - sent, MSG_NOSIGNAL);
            if (n >= 0) {
                sent += static_cast<size_t>(n);
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_until(fd, POLLOUT, deadline))
                    throw adf::Error(ADF_FAILED, "sending timed out " + after_budget(deadline));
            } else if (errno != EINTR) {
                throw system_error("sending failed");
            }
        }
    }

    // Reads until the bytes received either start with `expect` or cannot.
    void read_banner(int fd, const adf::CheckDeadline &deadline) const {
        const std::string &expect = *expect_;
        std::string banner;
        while (banner.size() < expect.size()) {
            char buffer[512];
            const ssize_t n = recv(fd, buffer, sizeof buffer, 0);
            if (n > 0) {
                banner.append(buffer, static_cast<size_t>(n));
                const size_t compared = std::min(banner.size(), expect.size());
                if (banner.compare(0, compared, expect, 0, compared) != 0)
                    throw adf::Error(ADF_FAILED, "banner " + quoted(banner) +
                                                     " does not start with " + quoted(expect));
            } else if (n == 0) {
                throw adf::Error(ADF_FAILED,
                                 banner.empty()
                                     ? std::string("connection closed before the banner")
                                     : "connection closed in the middle of the banner, after " +
                                           quoted(banner));
            } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (!wait_until(fd, POLLIN, deadline))
                    throw adf::Error(ADF_FAILED,
                                     (banner.empty() ? std::string("no banner")
                                                     : "an incomplete banner " + quoted(banner)) +
                                         " " + after_budget(deadline));
            } else if (errno != EINTR) {
                throw system_error("reading the banner failed");
            }
        }
    }

    // True when `fd` is ready for `events` before the deadline.
    static bool wait_until(int fd, short events, const adf::CheckDeadline &deadline) {
        for (;;) {
            const int left_ms = deadline.poll_ms();
            if (left_ms == 0) return false;
            pollfd p{fd, events, 0};
            const int ready = poll(&p, 1, left_ms);
            if (ready > 0) return true;
            if (ready < 0 && errno != EINTR) throw system_error("poll");
        }
    }

    static adf::Error connect_error(int error) {
        if (error == ECONNREFUSED) return adf::Error(ADF_FAILED, "connection refused");
        return adf::Error(ADF_FAILED, std::string("cannot connect: ") + std::strerror(error));
    }

    static adf::Error system_error(const std::string &what) {
        return adf::Error(ADF_FAILED, what + ": " + std::strerror(errno));
    }

    int port_;
    std::optional<std::string> send_;
    std::optional<std::string> expect_;
};

}  // namespace

ADF_CHECK_PLUGIN(TcpCheck, "tcp-check", "1.0.0",
                 "Alive when the peer accepts a TCP connection on `port` (and greets with `expect`)");
