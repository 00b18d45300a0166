// Threads beside the loop thread, which alone takes the daemon's signals.
#pragma once

#include <functional>
#include <thread>

namespace adf {

// Starts `body` on a thread of its own with SIGTERM, SIGINT and SIGHUP
// blocked (the new thread inherits the mask, then the caller's is
// restored), so that a stop or reload signal always wakes the loop thread.
std::thread thread_without_signals(std::function<void()> body);

}  // namespace adf
