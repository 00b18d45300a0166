// Signed requests to the Route 53 API over one kept-alive adf::http client,
// with retries: throttling, PriorRequestNotComplete, 5xx and requests that
// got no answer are retried with adf::Backoff (full jitter) until
// max_retry_time has passed, then reported as ADF_TRANSIENT (the rate limit
// is per account and shared with every other tool of the account).
#pragma once

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>

#include <optional>
#include <random>
#include <string>

#include "credentials.hpp"
#include "route53_xml.hpp"

namespace route53 {

struct ApiSettings {
    std::string endpoint = "https://route53.amazonaws.com";
    double request_timeout = 10.0;  // seconds per attempt
    double max_retry_time = 20.0;   // seconds for all attempts of one call
};

struct Answer {
    long status = 0;
    std::string body;
    std::optional<AwsError> error;  // parsed from a non-2xx body

    bool ok() const { return status >= 200 && status < 300; }
    // "Code: Message" as AWS wrote it, or the HTTP status and body excerpt.
    std::string error_text() const;
};

class Api {
   public:
    Api(ApiSettings settings, CredentialSource credentials, adf::Host &host);

    // Sends `method` `path_and_query` (below the endpoint) and returns the
    // final answer, retried as above. Throws adf::Error(ADF_TRANSIENT) when
    // the retries ran out, or ADF_FAILED when no credentials are available.
    Answer send(const std::string &method, const std::string &path_and_query,
                const std::optional<std::string> &body = std::nullopt);

    // ADF_FAILED naming `what` failed and quoting AWS's code and message.
    adf::Error failure(const std::string &what, const Answer &answer) const;
    // `text` without any secret in it.
    std::string redact(const std::string &text) const;

    const std::string &endpoint() const { return settings_.endpoint; }
    const std::string &credentials_origin() const { return credentials_.origin(); }

   private:
    Answer send_once(const std::string &method, const std::string &url,
                     const std::optional<std::string> &body, double timeout,
                     std::string &retry_reason);

    ApiSettings settings_;
    CredentialSource credentials_;
    adf::Host &host_;
    adf::http::Client http_;
    std::mt19937 random_;  // backoff jitter
};

}  // namespace route53
