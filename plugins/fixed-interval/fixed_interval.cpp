// fixed-interval: rounds every `interval` seconds, each check attempt given
// `timeout` seconds, `retry` attempts before a peer counts as dead (the
// original TickTimer). Rounds are anchored to the schedule, not to the end
// of the previous round, so a slow round does not shift every later one; a
// round that is already overdue starts now instead of bursting to catch up.
#include <autodnsfailover/plugin.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>

namespace {

constexpr double kMaxSeconds = 86400.0;  // a day: anything longer is a typo

// Reads a duration in seconds that must be greater than zero.
double positive_seconds(adf::Host &host, const char *path, double fallback) {
    const double value = host.number(path, fallback, 0.0, kMaxSeconds);
    if (value <= 0.0) host.config_error(path, "expected a number of seconds greater than 0");
    return value;
}

class FixedInterval {
   public:
    explicit FixedInterval(adf::Host &host)
        : interval_(positive_seconds(host, "/interval", 10.0)),
          timeout_(positive_seconds(host, "/timeout", 2.0)),
          retry_(static_cast<uint32_t>(host.integer("/retry", 3, 0, 100))) {
        if (!host.config_failed() && timeout_ > interval_)
            host.config_error("/timeout", "timeout (" + adf::seconds_text(timeout_) +
                                              ") is longer than interval (" +
                                              adf::seconds_text(interval_) +
                                              "): a check could never finish within its round");
    }

    double next_check_time(double now) {
        next_ = next_ ? std::max(*next_ + interval_, now) : now;
        return *next_;
    }
    double check_timeout() const { return timeout_; }
    uint32_t retry() const { return std::max<uint32_t>(retry_, 1); }

   private:
    double interval_;
    double timeout_;
    uint32_t retry_;
    std::optional<double> next_;  // when the last scheduled round starts
};

}  // namespace

ADF_TIMER_PLUGIN(FixedInterval, "fixed-interval", "1.0.0",
                 "Rounds every `interval` seconds, `timeout` seconds per attempt, `retry` attempts");
