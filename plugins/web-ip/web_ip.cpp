// web-ip: the host's own address is what a URL answers ("what is my
// address" services, the EC2 metadata URL...). The seed's reference ipaddr
// implementation, minus its defects: the request has a timeout, and the body
// is trimmed and validated, so an HTML error page is never taken for an
// address.
#include <curl/curl.h>

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>

#include <optional>
#include <string>

namespace {

constexpr std::size_t kMaxBody = 1024;  // an address is a few dozen bytes

const char *family_name(int family) { return family == ADF_FAMILY_IPV6 ? "IPv6" : "IPv4"; }

std::string trimmed(const std::string &text) {
    const auto first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos) return "";
    const auto last = text.find_last_not_of(" \t\r\n");
    return text.substr(first, last - first + 1);
}

// The scheme and host of a URL, as libcurl parses it.
struct UrlParts {
    std::string scheme;
    std::string host;  // an IPv6 literal keeps its brackets
};

std::optional<UrlParts> parse_url(const std::string &url) {
    CURLU *parsed = curl_url();
    if (parsed == nullptr) throw adf::Error(ADF_FAILED, "out of memory parsing a URL");
    std::optional<UrlParts> parts;
    char *scheme = nullptr;
    char *host = nullptr;
    if (curl_url_set(parsed, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK)
        parts = UrlParts{scheme, host};
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(parsed);
    return parts;
}

// The family of a host given as an address literal, 0 for a name.
int literal_family(std::string host) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (adf::canonical_address(host, ADF_FAMILY_IPV4)) return ADF_FAMILY_IPV4;
    if (adf::canonical_address(host, ADF_FAMILY_IPV6)) return ADF_FAMILY_IPV6;
    return 0;
}

class WebIp {
   public:
    explicit WebIp(adf::Host &host) : host_(host) {
        if (!host.has("/url")) {
            host.config_error("/url", "required: the http:// or https:// URL that answers with "
                                      "this host's address");
        } else if (auto url = host.string("/url")) {
            url_ = *url;
            url_parts_ = parse_url(url_);
            if (!url_parts_ || (url_parts_->scheme != "http" && url_parts_->scheme != "https"))
                host.config_error("/url", "expected an http:// or https:// URL, got \"" + *url +
                                              "\"");
        }
        if (host.has("/family")) {
            const auto family = static_cast<int>(host.integer("/family", 0, 4, 6));
            if (family == ADF_FAMILY_IPV4 || family == ADF_FAMILY_IPV6)
                family_ = family;
            else if (!host.config_failed())
                host.config_error("/family", "expected 4 or 6, got " + std::to_string(family));
        }
        // "family" forces the connection's family: an address of the other
        // one in the URL could never be reached.
        if (family_ && url_parts_) {
            const int literal = literal_family(url_parts_->host);
            if (literal != 0 && literal != *family_)
                host.config_error("/family", "is " + std::to_string(*family_) +
                                                 ", but the url connects to the " +
                                                 family_name(literal) + " address " +
                                                 url_parts_->host);
        }
        timeout_ = host.number("/timeout", 5.0, 0.1, 300.0);
        verify_tls_ = host.boolean("/verify_tls", true);
        use_proxy_ = host.boolean("/use_proxy", false);
    }

    std::optional<std::string> own_address(int family) {
        // The URL was configured for the other family: it says nothing about this one.
        if (family_ && *family_ != family) {
            host_.set_error("the url is configured for " + std::string(family_name(*family_)) +
                            " only (\"family\": " + std::to_string(*family_) + ")");
            return std::nullopt;
        }

        const std::string body = fetch();
        const std::string text = trimmed(body);
        host_.debug("GET " + url_ + " answered " + adf::http::excerpt(body));
        if (auto address = adf::canonical_address(text, family)) {
            if (adf::is_unspecified(*address))
                throw adf::Error(ADF_FAILED, "GET " + url_ + " answered " + *address +
                                                 ", the unspecified address, which is never this "
                                                 "host's own");
            return address;
        }

        const int other = family == ADF_FAMILY_IPV6 ? ADF_FAMILY_IPV4 : ADF_FAMILY_IPV6;
        const bool other_family = adf::canonical_address(text, other).has_value();
        // Without "family", one URL gives one address: an IPv4 answer means
        // this host has no IPv6 address to manage, and vice versa.
        if (other_family && !family_) {
            host_.set_error("GET " + url_ + " answered the " + family_name(other) + " address " +
                            text + ", so this host has no " + family_name(family) + " address");
            return std::nullopt;
        }

        std::string why = adf::http::excerpt(body);  // "an empty body" when blank
        if (other_family)
            why += ", an " + std::string(family_name(other)) + " address, but \"family\" is " +
                   std::to_string(*family_);
        else if (!text.empty())
            why += ", which is not an " + std::string(family_name(family)) + " address";
        throw adf::Error(ADF_FAILED, "GET " + url_ + " answered " + why);
    }

   private:
    std::string fetch() {
        adf::http::Request request;
        request.url = url_;
        request.headers = {"Accept: text/plain", "User-Agent: autodnsfailover-web-ip/1.0"};
        request.timeout = timeout_;
        request.max_redirects = 3;
        request.verify_tls = verify_tls_;
        request.use_proxy = use_proxy_;
        request.max_body = kMaxBody;
        request.family = family_.value_or(0);  // a name may resolve to both families
        const adf::http::Response response = client_.perform(request);
        if (!response.answered()) throw response.failure("GET " + url_);
        if (response.status != 200) {
            const bool server_side = response.status >= 500 || response.status == 429;
            throw adf::Error(server_side ? ADF_TRANSIENT : ADF_FAILED,
                             "GET " + url_ + " answered HTTP " + std::to_string(response.status) +
                                 " (expected 200): " + adf::http::excerpt(response.body));
        }
        return response.body;
    }

    adf::Host &host_;
    adf::http::Client client_;
    std::string url_;
    std::optional<UrlParts> url_parts_;
    std::optional<int> family_;
    double timeout_ = 5.0;
    bool verify_tls_ = true;
    bool use_proxy_ = false;
};

}  // namespace

ADF_IPADDR_PLUGIN(WebIp, "web-ip", "1.0.0",
                  "The own address is the body of an HTTP(S) URL (what-is-my-IP services, EC2 "
                  "metadata)");
