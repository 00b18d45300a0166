// The daemon's one clock: monotonic seconds, as plugin.h's timers use.
#pragma once

#include <time.h>

namespace adf {

inline double monotonic_now() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace adf
