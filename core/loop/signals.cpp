#include "loop/signals.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>

#include "util/clock.h"

namespace adf::signals {
namespace {

volatile sig_atomic_t g_stop_signal = 0;
volatile sig_atomic_t g_reload = 0;
int g_pipe[2] = {-1, -1};

void on_signal(int sig) {
    const int saved = errno;
    if (sig == SIGHUP)
        g_reload = 1;
    else
        g_stop_signal = sig;
    const char byte = 1;
    ssize_t ignored = write(g_pipe[1], &byte, 1);
    (void)ignored;
    errno = saved;
}

}  // namespace

void install() {
    if (g_pipe[0] < 0 && pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaction(sig, &sa, nullptr);
    signal(SIGPIPE, SIG_IGN);
}

int wake_fd() { return g_pipe[0]; }

void drain() {
    char buffer[64];
    while (g_pipe[0] >= 0 && read(g_pipe[0], buffer, sizeof buffer) > 0) {
    }
}

bool stop_requested() { return g_stop_signal != 0; }
int stop_signal() { return g_stop_signal; }

bool take_reload_request() {
    if (!g_reload) return false;
    g_reload = 0;
    return true;
}

bool reload_requested() { return g_reload != 0; }

bool sleep_until(double deadline) {
    for (;;) {
        drain();
        if (stop_requested()) return false;
        if (g_reload) return true;
        const double left = deadline - monotonic_now();
        if (left <= 0) return true;
        pollfd fd{g_pipe[0], POLLIN, 0};
        const int ms = static_cast<int>(std::ceil(std::min(left, 3600.0) * 1000));
        poll(&fd, g_pipe[0] >= 0 ? 1 : 0, ms);
    }
}

}  // namespace adf::signals
