#include "systemd/notify.h"

#include <systemd/sd-daemon.h>

#include <limits>

#include <fmt/format.h>

#include "util/clock.h"

namespace adf::systemd {
namespace {

// STATUS= is one line: a newline would start another assignment.
std::string one_line(const std::string &text) {
    std::string out = text;
    for (char &c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

}  // namespace

Notifier::Notifier() {
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0)
        period_ = static_cast<double>(usec) / 1e6 / 3;
}

void Notifier::send(const std::string &state) { sd_notify(0, state.c_str()); }

void Notifier::ready(const std::string &status) { send("READY=1\nSTATUS=" + one_line(status)); }

void Notifier::reloading() {
    // MONOTONIC_USEC lets systemd (253 and later, Type=notify-reload) tell
    // this reload from an older one; older systemd ignores it.
    const auto usec = static_cast<unsigned long long>(monotonic_now() * 1e6);
    send(fmt::format("RELOADING=1\nSTATUS=reloading the configuration\nMONOTONIC_USEC={}", usec));
}

void Notifier::stopping(const std::string &status) {
    send("STOPPING=1\nSTATUS=" + one_line(status));
}

void Notifier::status(const std::string &line) { send("STATUS=" + one_line(line)); }

void Notifier::progress(double now) {
    if (period_ <= 0 || now < next_ping()) return;
    send("WATCHDOG=1");
    last_ping_ = now;
}

double Notifier::next_ping() const {
    if (period_ <= 0) return std::numeric_limits<double>::infinity();
    return last_ping_ + period_;
}

}  // namespace adf::systemd
