#include "isolation/checker.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "isolation/attempts.h"
#include "isolation/protocol.h"
#include "logging/log.h"
#include "plugin/kinds.h"
#include "util/clock.h"

namespace adf::isolation {
namespace {

// Descriptors kept for the helper itself (socket, signalfd, the plugin's own).
constexpr rlim_t kReservedDescriptors = 64;
// The setup message carries the check section, which may be long.
constexpr size_t kSetupMax = 1024 * 1024;
// Attempts forked between two looks at exited children and the socket.
constexpr int kForksPerTurn = 16;

// Each running attempt holds one descriptor (its reason pipe): raise the soft
// limit to the hard one and say how many attempts fit.
unsigned attempt_capacity() {
    rlimit files{};
    getrlimit(RLIMIT_NOFILE, &files);
    if (files.rlim_cur < files.rlim_max) {
        files.rlim_cur = files.rlim_max;
        setrlimit(RLIMIT_NOFILE, &files);
        getrlimit(RLIMIT_NOFILE, &files);
    }
    rlim_t capacity = files.rlim_cur > kReservedDescriptors ? files.rlim_cur - kReservedDescriptors : 1;
    rlimit processes{};
    if (getrlimit(RLIMIT_NPROC, &processes) == 0 && processes.rlim_cur != RLIM_INFINITY &&
        geteuid() != 0)
        capacity = std::min(capacity, std::max<rlim_t>(1, processes.rlim_cur / 2));
    return static_cast<unsigned>(std::min<rlim_t>(capacity, 1u << 20));
}

// Replies go in as few messages as fit.
void queue_replies(protocol::Outbox &outbox, std::vector<protocol::Reply> &replies) {
    std::vector<protocol::Reply> batch;
    size_t size = 1;
    auto flush = [&] {
        if (batch.empty()) return;
        outbox.push(protocol::encode_replies(batch));
        batch.clear();
        size = 1;
    };
    for (auto &reply : replies) {
        const size_t bytes = protocol::reply_size(reply.reason.size());
        if (size + bytes > protocol::kMessageMax) flush();
        size += bytes;
        batch.push_back(std::move(reply));
    }
    flush();
    replies.clear();
}

// The plugin, created from the daemon's setup; nothing when that failed
// (the daemon has been told why).
std::unique_ptr<plugin::Checker> create_checker(int fd) {
    std::string message;
    std::string error;
    std::optional<protocol::Setup> setup;
    if (protocol::receive_message(fd, message, kSetupMax) == 1)
        setup = protocol::decode_setup(message, error);
    else
        error = std::string("no setup received: ") + std::strerror(errno);
    protocol::Ready ready;
    std::unique_ptr<plugin::Checker> checker;
    if (setup && setup->version != ADF_VERSION)
        error = "the check helper is version " ADF_VERSION ", the daemon " + setup->version +
                ": install both from one build";
    else if (setup) {
        log::configure(setup->logging);  // fd 2 is the daemon's log
        try {
            plugin::Loader loader(setup->plugin_dirs);
            checker = std::make_unique<plugin::Checker>(plugin::Instance::create(
                loader.load(setup->section.plugin, ADF_KIND_CHECK), setup->section));
        } catch (const std::exception &e) {
            error = e.what();
        }
    }
    if (checker) {
        ready.ok = true;
        ready.name = checker->name();
        ready.capacity = attempt_capacity();
    } else {
        ready.error = error;
    }
    protocol::send_message(fd, protocol::encode_ready(ready));
    return checker;
}

int poll_timeout_ms(double deadline) {
    if (!std::isfinite(deadline)) return -1;
    const double left = std::max(0.0, deadline - monotonic_now());
    return static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000));
}

// Serves check requests until the daemon closes the socket.
int serve(int fd, plugin::Checker &checker) {
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_BLOCK, &child, nullptr);
    const int child_fd = signalfd(-1, &child, SFD_CLOEXEC | SFD_NONBLOCK);
    if (child_fd < 0) return 1;
    AttemptPool pool(checker, fd);
    std::vector<protocol::Reply> replies;
    protocol::Outbox outbox;
    std::deque<protocol::Request> waiting;  // received, not yet forked
    std::string message;
    for (;;) {
        // A few forks per turn, then reap and answer: verdicts keep flowing
        // while a thousand requests wait their turn, however slow fork is.
        for (int i = 0; i < kForksPerTurn && !waiting.empty(); ++i) {
            pool.start(waiting.front(), replies);
            waiting.pop_front();
        }
        const short events = outbox.empty() ? POLLIN : POLLIN | POLLOUT;
        pollfd fds[2] = {{fd, events, 0}, {child_fd, POLLIN, 0}};
        const int timeout = waiting.empty() ? poll_timeout_ms(pool.next_deadline()) : 0;
        if (poll(fds, 2, timeout) < 0 && errno != EINTR) return 1;
        if (fds[1].revents) {
            signalfd_siginfo info[16];
            while (read(child_fd, info, sizeof info) > 0) {
            }
        }
        pool.collect(replies);
        pool.expire(monotonic_now());
        if (fds[0].revents) {
            for (;;) {
                const int got = protocol::receive_message(fd, message);
                if (got == 0 || (got < 0 && errno != EAGAIN)) return 0;  // the daemon is gone
                if (got < 0) break;
                if (message[0] == protocol::kCancel) {
                    pool.kill_all();
                    waiting.clear();
                    replies.clear();
                } else if (const auto requests = protocol::decode_checks(message)) {
                    waiting.insert(waiting.end(), requests->begin(), requests->end());
                }
            }
        }
        if (!replies.empty()) queue_replies(outbox, replies);
        if (!outbox.flush(fd)) return 0;  // the daemon is gone
    }
}

[[noreturn]] void usage() {
    std::fputs("autodnsfailover-checker: the check helper of autodnsfailover, which starts it; "
               "it is not run by hand\n",
               stderr);
    std::exit(2);
}

}  // namespace

int checker_main(int argc, char **argv) {
    int fd = -1;
    long parent = -1;
    for (int i = 1; i < argc; ++i) {
        const std::string option = argv[i];
        if (option == "--socket" && i + 1 < argc)
            fd = std::atoi(argv[++i]);
        else if (option == "--parent" && i + 1 < argc)
            parent = std::atol(argv[++i]);
        else if (option == "--unset-bind-now")
            unsetenv("LD_BIND_NOW");  // it served this process's start only
        else
            usage();
    }
    if (fd < 0 || parent <= 0 || fcntl(fd, F_GETFD) < 0) usage();
    // Die with the daemon; a daemon that died before this took effect is
    // no longer our parent.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) return 1;
    signal(SIGPIPE, SIG_IGN);
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    const auto checker = create_checker(fd);
    if (!checker) return 2;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return serve(fd, *checker);
}

}  // namespace adf::isolation
