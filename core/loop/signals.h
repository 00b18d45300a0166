// SIGTERM/SIGINT (stop) and SIGHUP (reload) as flags plus a self-pipe, so
// every wait in the daemon wakes up at once when one arrives.
#pragma once

namespace adf::signals {

// Installs the handlers (and ignores SIGPIPE). Call once, early.
void install();

// Readable when a signal has arrived since the last drain().
int wake_fd();
void drain();

bool stop_requested();
int stop_signal();  // the signal that asked to stop (0 if none)
// True once per SIGHUP received.
bool take_reload_request();
// Whether a SIGHUP is waiting (without taking it).
bool reload_requested();

// Sleeps until `deadline` (monotonic seconds) or until a stop or reload
// request arrives; returns false when the daemon should stop.
bool sleep_until(double deadline);

}  // namespace adf::signals
