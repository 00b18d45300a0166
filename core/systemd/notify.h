// The systemd notification protocol through libsystemd's sd_notify(3):
// READY=1 after the first complete round, STATUS= one-line summaries,
// RELOADING=1 then READY=1 around a reload, STOPPING=1, and WATCHDOG=1
// while the loop makes progress. Without systemd (no NOTIFY_SOCKET) every
// call does nothing, so the daemon runs unchanged anywhere.
//
// The watchdog is fed only by the loop thread, at each step of a round
// (every plugin call that returned, every verdict that came) and while it
// waits for the next round, never by another thread: a loop stuck in a
// plugin stops the pings, and systemd restarts the daemon after WatchdogSec.
#pragma once

#include <string>

namespace adf::systemd {

class Notifier {
   public:
    Notifier();  // reads WATCHDOG_USEC / WATCHDOG_PID through sd_watchdog_enabled()

    void ready(const std::string &status);
    void reloading();
    void stopping(const std::string &status);
    void status(const std::string &line);

    // Seconds between pings (a third of WatchdogSec), 0 without a watchdog.
    double watchdog_period() const { return period_; }
    // The loop made progress at monotonic `now`: pings when one is due.
    void progress(double now);
    // When the next ping is due (monotonic); infinity without a watchdog.
    double next_ping() const;

   private:
    void send(const std::string &state);
    double period_ = 0;
    double last_ping_ = 0;
};

}  // namespace adf::systemd
