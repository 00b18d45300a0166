// EC2 instance metadata (IMDSv2) client, shared by the ec2-metadata plugin
// (the instance's addresses) and the route53 plugin (instance-role
// credentials), on the SDK's HTTP client. Header-only, included by relative
// path: the one header the AWS plugins share.
//
// IMDSv2: PUT /latest/api/token with the TTL header gives a session token;
// every GET carries it. The token is cached until shortly before it expires,
// because the daemon asks every round, and renewed when a GET answers 401.
// IMDSv1 (GETs without a token) is used only when allowed and the token PUT
// got no answer at all (a container behind a hop limit of 1).
#pragma once

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>

#include <algorithm>
#include <chrono>
#include <optional>
#include <string>

namespace adf_aws {

struct ImdsSettings {
    std::string endpoint = "http://169.254.169.254";
    double timeout = 2.0;         // seconds per request
    int64_t token_ttl = 21600;    // seconds, 1..21600 as EC2 accepts
    bool allow_imdsv1 = false;
};

class ImdsClient {
   public:
    using Clock = std::chrono::steady_clock;

    explicit ImdsClient(ImdsSettings settings) : settings_(std::move(settings)) {
        settings_.endpoint = adf::http::without_trailing_slash(settings_.endpoint);
    }

    // The body of GET `path` ("/latest/meta-data/public-ipv4"), or nothing
    // when it answers 404. Throws adf::Error for everything else: ADF_FAILED
    // for 403 (metadata disabled) and refusals, ADF_TRANSIENT for no answer
    // and server errors.
    std::optional<std::string> get(const std::string &path) {
        const std::string url = settings_.endpoint + path;
        adf::http::Response response = get_with_token(url);
        if (response.status == 401 && token_) {
            token_.reset();  // expired or revoked early: one fresh try
            response = get_with_token(url);
            if (response.status == 401)
                throw adf::Error(ADF_FAILED, "instance metadata " + url +
                                                 " rejected a freshly issued IMDSv2 token (401)");
        }
        if (!response.answered())
            throw adf::Error(ADF_TRANSIENT,
                             "instance metadata " + url + " did not answer: " + response.no_answer);
        switch (response.status) {
            case 200: return response.body;
            case 404: return std::nullopt;
            case 401:
                throw adf::Error(ADF_FAILED, "instance metadata " + url +
                                                 " requires an IMDSv2 token (401), but the token "
                                                 "request " + token_url() + " got no answer");
            case 403: throw disabled(url);
            default: throw unexpected(url, response);
        }
    }

    const std::string &endpoint() const { return settings_.endpoint; }

   private:
    struct Token {
        std::string value;
        Clock::time_point renew_at;
    };

    std::string token_url() const { return settings_.endpoint + "/latest/api/token"; }

    // Requests go straight to the link-local service, never through a proxy
    // of the environment (adf::http::Request::use_proxy stays false).
    adf::http::Response get_with_token(const std::string &url) {
        adf::http::Request request;
        request.url = url;
        request.timeout = settings_.timeout;
        if (const Token *token = current_token())
            request.headers.push_back("X-aws-ec2-metadata-token: " + token->value);
        return http_.perform(request);
    }

    // The cached token, a new one, or nullptr in IMDSv1 fallback mode.
    const Token *current_token() {
        const auto now = Clock::now();
        if (token_ && now < token_->renew_at) return &*token_;
        token_.reset();
        if (imdsv1_until_ && now < *imdsv1_until_) return nullptr;
        imdsv1_until_.reset();

        adf::http::Request request;
        request.method = "PUT";
        request.url = token_url();
        request.body = "";
        request.timeout = settings_.timeout;
        request.headers.push_back("X-aws-ec2-metadata-token-ttl-seconds: " +
                                  std::to_string(settings_.token_ttl));
        const adf::http::Response response = http_.perform(request);
        if (!response.answered()) {
            if (settings_.allow_imdsv1) {
                // Do not wait for the PUT's timeout every round: retry it later.
                imdsv1_until_ = now + kImdsv1Period;
                return nullptr;
            }
            throw adf::Error(ADF_TRANSIENT,
                             "the IMDSv2 token request PUT " + token_url() + " got no answer (" +
                                 response.no_answer +
                                 "); in a container the instance's metadata hop limit must be "
                                 "at least 2, or set allow_imdsv1");
        }
        if (response.status == 403) throw disabled(token_url());
        if (response.status != 200 || response.body.empty())
            throw unexpected("PUT " + token_url(), response);
        require_header_safe(response.body);
        token_ = Token{response.body, now + lifetime_before_renewal()};
        return &*token_;
    }

    // The token goes back as a header value: a line break in it would let
    // the answer write headers of its own into every later request.
    void require_header_safe(const std::string &token) const {
        for (std::size_t i = 0; i < token.size(); ++i) {
            const auto c = static_cast<unsigned char>(token[i]);
            if (c <= 0x20 || c >= 0x7f)
                throw adf::Error(ADF_FAILED, "the IMDSv2 token from PUT " + token_url() +
                                                 " holds a control character, space or non-ASCII "
                                                 "byte (at byte " + std::to_string(i) +
                                                 "), so it is not sent on as a header");
        }
    }

    // Renew a little before EC2 would refuse the token.
    Clock::duration lifetime_before_renewal() const {
        const auto ttl = std::chrono::seconds(settings_.token_ttl);
        const auto margin = std::min<Clock::duration>(std::chrono::seconds(60), ttl / 2);
        return ttl - margin;
    }

    static adf::Error disabled(const std::string &url) {
        return adf::Error(ADF_FAILED, "instance metadata is disabled (403 from " + url + ")");
    }

    static adf::Error unexpected(const std::string &what, const adf::http::Response &response) {
        const int status = response.status >= 500 ? ADF_TRANSIENT : ADF_FAILED;
        return adf::Error(status, "instance metadata " + what + " answered HTTP " +
                                      std::to_string(response.status) + " with " +
                                      adf::http::excerpt(response.body, 120));
    }

    static constexpr std::chrono::minutes kImdsv1Period{5};

    ImdsSettings settings_;
    adf::http::Client http_;
    std::optional<Token> token_;
    std::optional<Clock::time_point> imdsv1_until_;
};

}  // namespace adf_aws
