#include "route53_api.hpp"

#include <autodnsfailover/backoff.hpp>

#include <set>

namespace route53 {
namespace {

// libcurl's native SigV4: Route 53 is a global service signed for us-east-1.
constexpr const char *kSigV4Scope = "aws:amz:us-east-1:route53";
// Full jitter below bounds of 0.2 s doubling up to 5 s.
const adf::BackoffPolicy kRetryPolicy = {0.2, 5.0, 0.0};

// 400 answers that mean "not now" rather than "never".
bool is_retryable_code(const std::string &code) {
    static const std::set<std::string> codes = {"Throttling", "ThrottlingException",
                                                "PriorRequestNotComplete", "RequestLimitExceeded",
                                                "TooManyRequestsException"};
    return codes.count(code) > 0;
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
    adf::Backoff backoff(settings_.max_retry_time, random_, kRetryPolicy);
    bool credentials_renewed = false;
    for (bool first = true;; first = false) {
        // A retry only gets what is left of max_retry_time.
        const double timeout =
            first ? settings_.request_timeout : backoff.retry_timeout(settings_.request_timeout);
        std::string retry_reason;
        Answer answer = send_once(method, url, body, timeout, retry_reason);
        if (retry_reason.empty() && answer.error && answer.error->code == "ExpiredToken" &&
            !credentials_renewed && credentials_.forget_expired()) {
            credentials_renewed = true;
            host_.info("Route 53 says the instance role's credentials expired: fetching new ones");
            continue;
        }
        if (retry_reason.empty()) return answer;
        backoff.wait_or_give_up(host_,
                                redact("Route 53 " + method + " " + url + ": " + retry_reason));
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
        retry_reason = (response.timed_out ? "no answer within " + adf::seconds_text(timeout) + " ("
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

adf::Error Api::failure(const std::string &what, const Answer &answer) const {
    std::string text = "Route 53 refused " + what + ": " + answer.error_text();
    if (answer.error) text += " (HTTP " + std::to_string(answer.status) + ")";
    return adf::Error(ADF_FAILED, redact(text));
}

std::string Api::redact(const std::string &text) const {
    return redacted(text, credentials_.secrets());
}

}  // namespace route53
