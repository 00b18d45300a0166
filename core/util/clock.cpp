#include "util/clock.h"

#include <cmath>

#include <fmt/format.h>

namespace adf {

std::string iso_utc(double wall) {
    const double whole = std::floor(wall);
    const time_t seconds = static_cast<time_t>(whole);
    long millis = std::lround((wall - whole) * 1000);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char date[32];
    strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
    if (millis > 999) millis = 999;  // rounding must not print a 1000th millisecond
    return fmt::format("{}.{:03}Z", date, millis);
}

std::string human_duration(double seconds) {
    if (!(seconds >= 0)) seconds = 0;
    if (seconds < 10) return fmt::format("{:.1f} s", seconds);
    const auto total = static_cast<long long>(std::llround(seconds));
    const long long days = total / 86400, hours = total % 86400 / 3600,
                    minutes = total % 3600 / 60, rest = total % 60;
    if (days > 0) return fmt::format("{} d {} h", days, hours);
    if (hours > 0) return fmt::format("{} h {} min", hours, minutes);
    if (minutes > 0) return fmt::format("{} min {} s", minutes, rest);
    return fmt::format("{} s", rest);
}

}  // namespace adf
