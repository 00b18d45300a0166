// The daemon's clocks: monotonic seconds, as plugin.h's timers use, for
// every interval and deadline; wall-clock seconds (Unix time) only for what
// people and other machines read (logs, status, metrics, notifications).
#pragma once

#include <time.h>

#include <string>

namespace adf {

inline double monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

inline double wall_now() {
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// One moment on both clocks: the monotonic one to compute ages and
// deadlines (immune to clock steps), the wall one to show it.
struct Stamp {
    double monotonic = 0;  // 0: never
    double wall = 0;
    bool is_set() const { return monotonic > 0; }
};

inline Stamp stamp_now() { return {monotonic_now(), wall_now()}; }

// "2026-11-25T18:00:00.123Z" (milliseconds), UTC.
std::string iso_utc(double wall);

// "4 s", "3 min 20 s", "2 h 5 min", "3 d 4 h": a duration for people.
std::string human_duration(double seconds);

}  // namespace adf
