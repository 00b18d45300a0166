// Optional C++17 helper for check plugins: when one check() call should stop.
// Not part of the ABI; header-only, so each plugin stays self-contained.
//
// Why stop before `timeout`: the host runs each check() in a child process
// and kills it, with its whole process group, when `timeout` seconds have
// passed. A check killed there reports only "timed out (check killed)" and
// cleans up nothing. A check that ends a little earlier can still kill and
// reap what it started and report its own, more precise reason ("no banner
// after 0.9 s", "connect to 192.0.2.1:443 refused"). The margin is one policy
// for every check: 10% of the timeout, at least 10 ms and at most 250 ms.
//
//   bool check(const std::string &address, int family, double timeout) {
//       const adf::CheckDeadline deadline(timeout);   // first thing in check()
//       ...
//       poll(&fd, 1, deadline.poll_ms());             // never past the end
//       if (deadline.passed())
//           throw adf::Error(ADF_FAILED, "no answer after " +
//                                            adf::seconds_text(deadline.budget()));
//   }
#ifndef AUTODNSFAILOVER_CHECK_DEADLINE_HPP
#define AUTODNSFAILOVER_CHECK_DEADLINE_HPP

#include <algorithm>
#include <chrono>

#include "plugin.hpp"  // adf::seconds_text, for the reasons checks give

namespace adf {

class CheckDeadline {
   public:
    using Clock = std::chrono::steady_clock;

    // The host counts `timeout` from just before check() starts: construct
    // the deadline first thing in check().
    explicit CheckDeadline(double timeout)
        : start_(Clock::now()),
          end_(after(std::max(0.0, timeout - margin(timeout)))),
          host_kill_(after(std::max(0.0, timeout))) {}

    // Seconds between the end of the check and the host's kill.
    static double margin(double timeout) { return std::clamp(timeout * 0.1, 0.01, 0.25); }

    Clock::time_point start() const { return start_; }
    Clock::time_point end() const { return end_; }
    // `seconds` after the start, e.g. when the n-th of spaced probes is due.
    Clock::time_point after(double seconds) const {
        return start_ + std::chrono::duration_cast<Clock::duration>(
                            std::chrono::duration<double>(seconds));
    }
    // Cleaning up (killing and reaping what the check started) may run past
    // the end, until halfway to the host's kill.
    Clock::time_point cleanup_end() const { return end_ + (host_kill_ - end_) / 2; }

    bool passed() const { return Clock::now() >= end_; }
    // Seconds from the start to the end: the time the check may use.
    double budget() const { return std::chrono::duration<double>(end_ - start_).count(); }
    // Seconds from now to the end, 0 once it has passed: for libraries that
    // take a timeout rather than a point in time.
    double remaining() const {
        return std::max(0.0, std::chrono::duration<double>(end_ - Clock::now()).count());
    }
    // Milliseconds until `when`, capped at the end and rounded up (poll()
    // must not wake a millisecond early and spin), 0 when already there.
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

}  // namespace adf

#endif  // AUTODNSFAILOVER_CHECK_DEADLINE_HPP
