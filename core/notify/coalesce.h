// Coalescing of repeats: the first event of a kind about one thing (a peer,
// a set, a target) is delivered at once; repeats within `window` seconds are
// held and counted, and when the window closes one summary goes out (and a
// new window opens while the repeats go on). A peer that flaps every round
// for an hour costs 1 + 3600 / window messages, not one per round. Pure:
// the caller passes the time.
#pragma once

#include <limits>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "notify/message.h"

namespace adf::notify {

class Coalescer {
   public:
    explicit Coalescer(double window) : window_(window) {}
    void set_window(double seconds) { window_ = seconds; }

    // A notification to send: returned when it goes out now, nothing when
    // it is a repeat held for the window's summary.
    std::optional<Notification> offer(const Notification &n, double now);
    // The summaries of windows closed by monotonic `now` (repeats > 0).
    std::vector<Notification> due(double now);
    // When the next window closes (monotonic); infinity when none is open.
    double next_due() const;

   private:
    using Key = std::tuple<int, std::string, int, std::string>;  // kind, fqdn, family, peer
    struct Window {
        double ends = 0;
        size_t held = 0;
        double first_held_wall = 0;
        Notification last;
    };
    double window_;
    std::map<Key, Window> windows_;
};

}  // namespace adf::notify
