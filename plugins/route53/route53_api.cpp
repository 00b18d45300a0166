#include "route53_api.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <thread>

namespace route53 {
namespace {

using Clock = std::chrono::steady_clock;

// libcurl's native SigV4: Route 53 is a global service signed for us-east-1.
constexpr const char *kSigV4Scope = "aws:amz:us-east-1:route53";
constexpr double kFirstDelay = 0.2;  // seconds: the backoff's first ceiling
constexpr double kMaxDelay = 5.0;    // seconds: the backoff's largest ceiling

// 400 answers that mean "not now" rather than "never".
bool is_retryable_code(const std::string &code) {
    static const std::set<std::string> codes = {"Throttling", "ThrottlingException",
                                                "PriorRequestNotComplete", "RequestLimitExceeded",
                                                "TooManyRequestsException"};
    return codes.count(code) > 0;
}

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

std::string seconds_text(double seconds) {
    char text[32];
    std::snprintf(text, sizeof text, "%.1f s", seconds);
    return text;
}

}  // namespace

std::string Answer::error_text() const {
    if (error) return error->code + ": " + error->message;
    return "HTTP " + std::to_string(status) + " with " + adf::http::excerpt(body, 120);
}

Api::Api(ApiSettings settings, CredentialSource credentials, adf::Host &host)
    : settings_(std::move(settings)),
      credentials_(std::move(credentials)),
      host_(host),
      random_(std::random_device{}()) {
    settings_.endpoint = adf::http::without_trailing_slash(settings_.endpoint);
}

Answer Api::send(const std::string &method, const std::string &path_and_query,
                 const std::optional<std::string> &body) {
    const std::string url = settings_.endpoint + path_and_query;
    const Clock::time_point start = Clock::now();
    bool credentials_renewed = false;
    for (unsigned attempt = 0;; ++attempt) {
        // The first attempt gets the whole request_timeout; later ones only
        // what is left of max_retry_time.
        const double left = settings_.max_retry_time - seconds_since(start);
        const double timeout =
            attempt == 0 ? settings_.request_timeout : std::min(settings_.request_timeout, left);
        std::string retry_reason;
        Answer answer = send_once(method, url, body, timeout, retry_reason);
        if (retry_reason.empty() && answer.error && answer.error->code == "ExpiredToken" &&
            !credentials_renewed && credentials_.forget_expired()) {
            credentials_renewed = true;
            host_.info("Route 53 says the instance role's credentials expired: fetching new ones");
            continue;
        }
        if (retry_reason.empty()) return answer;

        const double delay = backoff_delay(attempt);
        const double elapsed = seconds_since(start);
        if (elapsed + delay >= settings_.max_retry_time)
            throw adf::Error(ADF_TRANSIENT,
                             redact("Route 53 " + method + " " + url + ": " + retry_reason +
                                    "; gave up after " + std::to_string(attempt + 1) +
                                    " attempts in " + seconds_text(elapsed) +
                                    " (max_retry_time " + seconds_text(settings_.max_retry_time) +
                                    ")"));
        host_.warning(redact("Route 53 " + method + " " + url + ": " + retry_reason +
                             "; retrying in " + seconds_text(delay)));
        std::this_thread::sleep_for(std::chrono::duration<double>(delay));
    }
}

// One request. `retry_reason` is set when the answer is worth retrying.
Answer Api::send_once(const std::string &method, const std::string &url,
                      const std::optional<std::string> &body, double timeout,
                      std::string &retry_reason) {
    const Credentials &credentials = credentials_.current();
    adf::http::Request request;
    request.method = method;
    request.url = url;
    request.body = body;
    request.timeout = timeout;
    // AWS is on the internet: a host that reaches it through the proxy of
    // its environment (https_proxy...) keeps doing so.
    request.use_proxy = true;
    request.sigv4_scope = kSigV4Scope;
    request.sigv4_credentials = credentials.access_key_id + ":" + credentials.secret_access_key;
    if (body) request.headers.push_back("Content-Type: text/xml");
    if (!credentials.session_token.empty())
        request.headers.push_back("X-Amz-Security-Token: " + credentials.session_token);

    const adf::http::Response response = http_.perform(request);
    Answer answer;
    if (!response.answered()) {
        retry_reason = (response.timed_out ? "no answer within " + seconds_text(timeout) + " ("
                                           : "no answer (") +
                       response.no_answer + ")";
        return answer;
    }
    answer.status = response.status;
    answer.body = response.body;
    host_.debug(method + " " + url + " -> HTTP " + std::to_string(answer.status));
    if (answer.ok()) return answer;
    answer.error = aws_error(answer.body);
    const bool retryable = answer.status >= 500 || answer.status == 429 ||
                           (answer.error && is_retryable_code(answer.error->code));
    if (retryable) retry_reason = answer.error_text();
    return answer;
}

double Api::backoff_delay(unsigned attempt) {
    const double ceiling = std::min(kMaxDelay, kFirstDelay * std::pow(2.0, std::min(attempt, 16u)));
    return std::uniform_real_distribution<double>(0.0, ceiling)(random_);
}

adf::Error Api::failure(const std::string &what, const Answer &answer) const {
    std::string text = "Route 53 refused " + what + ": " + answer.error_text();
    if (answer.error) text += " (HTTP " + std::to_string(answer.status) + ")";
    return adf::Error(ADF_FAILED, redact(text));
}

std::string Api::redact(const std::string &text) const {
    return redacted(text, credentials_.secrets());
}

}  // namespace route53
