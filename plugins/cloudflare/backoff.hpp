// Waiting between retries of a throttled or failing API, within a time
// budget: exponential backoff with jitter, or what the server asked for in
// Retry-After. Header-only, for any plugin that retries (a candidate for the
// SDK once a second plugin needs it).
#ifndef AUTODNSFAILOVER_BACKOFF_HPP
#define AUTODNSFAILOVER_BACKOFF_HPP

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <optional>
#include <random>
#include <string>
#include <thread>

namespace adf_backoff {

// Seconds from a Retry-After value: delta-seconds or an HTTP-date
// (RFC 9110 10.2.3); nothing when it is neither.
inline std::optional<double> retry_after_seconds(const std::string &value) {
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string::npos)
        return value.size() > 9 ? 1e9 : std::stod(value);  // longer: "not in this life"
    const time_t when = curl_getdate(value.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

inline std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, seconds < 10 ? "%.1f s" : "%.0f s", seconds);
    return text;
}

class Backoff {
   public:
    using Clock = std::chrono::steady_clock;

    // `budget`: seconds after which no retry starts; `first_ceiling` and
    // `max_ceiling` bound the random delays (0.5, 1, 2, 4, 8, 8... ceilings).
    Backoff(double budget, std::mt19937 &random, double first_ceiling = 0.5,
            double max_ceiling = 8.0)
        : budget_(budget),
          first_ceiling_(first_ceiling),
          max_ceiling_(max_ceiling),
          random_(random),
          start_(Clock::now()) {}

    double budget() const { return budget_; }
    double elapsed() const {
        return std::chrono::duration<double>(Clock::now() - start_).count();
    }
    double remaining() const { return std::max(0.0, budget_ - elapsed()); }
    unsigned retries() const { return retries_; }

    // The delay before the next attempt, or nothing when waiting it would
    // end past the budget (then give up). A server's Retry-After is waited
    // in full, with a little jitter so that throttled clients spread out.
    std::optional<double> next_delay(std::optional<double> retry_after) {
        double delay;
        if (retry_after) {
            delay = *retry_after + uniform(0.0, 0.25);
        } else {
            const double ceiling =
                std::min(max_ceiling_, first_ceiling_ * std::pow(2.0, std::min(retries_, 20u)));
            delay = uniform(ceiling / 2, ceiling);
        }
        if (elapsed() + delay > budget_) return std::nullopt;
        ++retries_;
        return delay;
    }

    static void sleep(double seconds) {
        std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    }

   private:
    double uniform(double low, double high) {
        return std::uniform_real_distribution<double>(low, high)(random_);
    }

    double budget_;
    double first_ceiling_;
    double max_ceiling_;
    std::mt19937 &random_;
    Clock::time_point start_;
    unsigned retries_ = 0;
};

}  // namespace adf_backoff

#endif  // AUTODNSFAILOVER_BACKOFF_HPP
