// Optional C++17 helper for plugins that retry a throttled or failing API:
// exponential backoff with jitter, or the wait the server asked for in
// Retry-After, all within a time budget per operation, after which the
// operation is ADF_TRANSIENT (the host retries it next round). Not part of
// the ABI; header-only. Link libcurl: Retry-After dates are parsed with
// curl_getdate.
//
//   adf::Backoff backoff(max_retry_time_, random_);       // one per operation
//   for (bool first = true;; first = false) {
//       request.timeout = first ? request_timeout_ : backoff.retry_timeout(request_timeout_);
//       const adf::http::Response r = client_.perform(request);
//       if (!worth_retrying(r)) return r;
//       backoff.wait_or_give_up(host_, "GET " + request.url + " answered HTTP 429",
//                               adf::retry_after_seconds(r.header("retry-after").value_or("")));
//   }
//
// Why jitter: every daemon of a pool shares the provider's rate limit, and
// daemons that retry in step would be throttled in step again.
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

#include "plugin.hpp"

namespace adf {

// Seconds from a Retry-After value: delta-seconds or an HTTP-date (RFC 9110
// 10.2.3); nothing when it is neither (or empty).
inline std::optional<double> retry_after_seconds(const std::string &value) {
    if (value.empty()) return std::nullopt;
    if (value.find_first_not_of("0123456789") == std::string::npos)
        return value.size() > 9 ? 1e9 : std::stod(value);  // longer: "not in this life"
    const time_t when = curl_getdate(value.c_str(), nullptr);
    if (when < 0) return std::nullopt;
    return std::max(0.0, std::difftime(when, std::time(nullptr)));
}

// Waits as retry messages show them: tenths below 10 s ("0.4 s", "2.0 s"),
// whole seconds above ("300 s"). Delays are random, so seconds_text()'s four
// digits would only be noise.
inline std::string wait_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, seconds < 10 ? "%.1f s" : "%.0f s", seconds);
    return text;
}

struct BackoffPolicy {
    double first_ceiling = 0.5;  // seconds: the first delay's upper bound
    double max_ceiling = 8.0;    // seconds: the bound doubles per retry up to this
    // Each delay is drawn from [floor * bound, bound]: 0 is "full jitter",
    // 0.5 keeps every delay at least half its bound.
    double floor = 0.0;
    const char *budget_key = "max_retry_time";  // the budget's config key, for messages
};

class Backoff {
   public:
    using Clock = std::chrono::steady_clock;

    // `budget`: seconds from now after which no retry starts. `random` is
    // the plugin's generator, seeded once (std::random_device).
    Backoff(double budget, std::mt19937 &random, BackoffPolicy policy = {})
        : budget_(budget), policy_(policy), random_(random), start_(Clock::now()) {}

    double budget() const { return budget_; }
    double elapsed() const {
        return std::chrono::duration<double>(Clock::now() - start_).count();
    }
    double remaining() const { return std::max(0.0, budget_ - elapsed()); }
    unsigned retries() const { return retries_; }

    // The timeout of a retried request: what is left of the budget, at most
    // `request_timeout` (a first attempt's timeout) and at least 0.1 s.
    double retry_timeout(double request_timeout) const {
        return std::max(0.1, std::min(request_timeout, remaining()));
    }

    // The delay before the next attempt, or nothing when waiting it would
    // end past the budget (then give up). A server's Retry-After is waited
    // in full, with a little jitter so that throttled clients spread out.
    std::optional<double> next_delay(std::optional<double> retry_after = std::nullopt) {
        double delay;
        if (retry_after) {
            delay = *retry_after + uniform(0.0, 0.25);
        } else {
            const double doubled = policy_.first_ceiling * std::pow(2.0, std::min(retries_, 30u));
            const double bound = std::min(policy_.max_ceiling, doubled);
            delay = uniform(bound * policy_.floor, bound);
        }
        if (elapsed() + delay > budget_) return std::nullopt;
        ++retries_;
        return delay;
    }

    // After a failed attempt that `reason` describes ("GET URL answered HTTP
    // 503"): logs a warning and sleeps until the next attempt, or throws
    // ADF_TRANSIENT saying how many attempts took how long when the budget
    // does not allow another. `reason` must hold no secret.
    void wait_or_give_up(const Host &host, std::string reason,
                         std::optional<double> retry_after = std::nullopt) {
        if (retry_after) reason += ", retry-after " + wait_text(*retry_after);
        const std::optional<double> delay = next_delay(retry_after);
        if (!delay) {
            const unsigned attempts = retries_ + 1;
            throw Error(ADF_TRANSIENT, reason + "; gave up after " + std::to_string(attempts) +
                                           (attempts == 1 ? " attempt" : " attempts") + " in " +
                                           wait_text(elapsed()) + " (" + policy_.budget_key + " " +
                                           wait_text(budget_) + ")");
        }
        host.warning(reason + "; retrying in " + wait_text(*delay));
        std::this_thread::sleep_for(std::chrono::duration<double>(*delay));
    }

   private:
    double uniform(double low, double high) {
        return std::uniform_real_distribution<double>(low, high)(random_);
    }

    double budget_;
    BackoffPolicy policy_;
    std::mt19937 &random_;
    Clock::time_point start_;
    unsigned retries_ = 0;
};

}  // namespace adf

#endif  // AUTODNSFAILOVER_BACKOFF_HPP
