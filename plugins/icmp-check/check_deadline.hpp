// Timing shared by icmp-check and exec-check: one deadline per check call,
// ending a little before the host kills the check process, so that the check
// can clean up (kill what it started) and report its own reason.
#ifndef ADF_CHECK_DEADLINE_HPP
#define ADF_CHECK_DEADLINE_HPP

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

namespace adf_checks {

using Clock = std::chrono::steady_clock;

// The host kills the check at `timeout`; we stop 10% earlier (10 ms to 250 ms).
inline double safety_margin(double timeout) { return std::clamp(timeout * 0.1, 0.01, 0.25); }

inline Clock::duration seconds(double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

class Deadline {
   public:
    explicit Deadline(double timeout)
        : start_(Clock::now()),
          end_(start_ + seconds(std::max(0.0, timeout - safety_margin(timeout)))),
          host_kill_(start_ + seconds(std::max(0.0, timeout))) {}

    Clock::time_point start() const { return start_; }
    Clock::time_point end() const { return end_; }
    // Cleaning up after the end may take until halfway to the host's kill.
    Clock::time_point cleanup_end() const { return end_ + (host_kill_ - end_) / 2; }
    bool passed() const { return Clock::now() >= end_; }
    // Seconds from the start to the end: the time the check may use.
    double budget() const { return std::chrono::duration<double>(end_ - start_).count(); }
    // Milliseconds until `when` (capped at the deadline), rounded up, for poll().
    int poll_ms(Clock::time_point when) const {
        const auto left =
            std::chrono::ceil<std::chrono::milliseconds>(std::min(when, end_) - Clock::now());
        return left.count() <= 0 ? 0 : static_cast<int>(left.count());
    }
    int poll_ms() const { return poll_ms(end_); }

   private:
    Clock::time_point start_;
    Clock::time_point end_;
    Clock::time_point host_kill_;
};

// "0.5 s", "2 s", "1.25 s".
inline std::string seconds_text(double s) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.4g s", s);
    return buffer;
}

}  // namespace adf_checks

#endif  // ADF_CHECK_DEADLINE_HPP
