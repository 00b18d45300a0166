#include "http_request.hpp"

#include <autodnsfailover/check_deadline.hpp>
#include <curl/curl.h>
#include <strings.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <memory>

namespace http_check {
namespace {

constexpr long max_redirects = 5;


struct EasyDeleter {
    void operator()(CURL *easy) const { curl_easy_cleanup(easy); }
};
struct ListDeleter {
    void operator()(curl_slist *list) const { curl_slist_free_all(list); }
};
using Easy = std::unique_ptr<CURL, EasyDeleter>;
using List = std::unique_ptr<curl_slist, ListDeleter>;

// Keeps the first `limit` bytes of the body, then stops the transfer: a
// health check needs no more, and a huge body must not eat the timeout.
struct BodyPrefix {
    std::string data;
    std::size_t limit = 0;
    bool full = false;
};

size_t keep_body_prefix(char *bytes, size_t size, size_t count, void *user) {
    auto *body = static_cast<BodyPrefix *>(user);
    const size_t length = size * count;
    body->data.append(bytes, std::min(length, body->limit - body->data.size()));
    if (body->data.size() < body->limit) return length;
    body->full = true;
    return 0;  // curl ends the transfer with CURLE_WRITE_ERROR, which we expect
}

std::string join_statuses(const std::vector<long> &statuses) {
    std::string out;
    for (long status : statuses) out += (out.empty() ? "" : ", ") + std::to_string(status);
    return out;
}

bool is_ipv6(const std::string &address, int family) {
    return family == ADF_FAMILY_IPV6 || address.find(':') != std::string::npos;
}

// "192.0.2.1" or "[2001:db8::1]", as curl's CONNECT_TO and messages want it.
std::string bracketed(const std::string &address, int family) {
    return is_ipv6(address, family) ? "[" + address + "]" : address;
}

// The same for a URL, where a zone id's "%" must be percent-encoded.
std::string url_host(const std::string &address, int family) {
    std::string escaped;
    for (char c : address) escaped += c == '%' ? std::string("%25") : std::string(1, c);
    return bracketed(escaped, family);
}

class Request {
   public:
    // `budget` is the time left for the transfer, `timeout` the check's own.
    Request(const HttpCheckConfig &config, const std::string &address, int family, double timeout,
            double budget)
        : config_(config),
          peer_(bracketed(address, family) + ":" + std::to_string(config.port)),
          timeout_(timeout),
          budget_(budget),
          easy_(curl_easy_init()) {
        if (!easy_) throw adf::Error(ADF_FAILED, "libcurl could not create a transfer handle");
        error_[0] = '\0';
        body_.limit = config.expect_body_bytes;
        const std::string host = config.virtual_host.value_or(url_host(address, family));
        url_ = (config.https ? "https://" : "http://") + host + ":" + std::to_string(config.port) +
               config.path;
        if (config.virtual_host)
            connect_to_ = *config.virtual_host + ":" + std::to_string(config.port) + ":" + peer_;
    }

    std::optional<std::string> run() {
        configure();
        const CURLcode rc = curl_easy_perform(easy_.get());
        if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && body_.full)) return failure(rc);
        return judge_response();
    }

   private:
    template <class Value>
    void set(CURLoption option, Value value, const char *name) {
        const CURLcode rc = curl_easy_setopt(easy_.get(), option, value);
        if (rc != CURLE_OK)
            throw adf::Error(ADF_FAILED, std::string("libcurl rejected ") + name + ": " +
                                             curl_easy_strerror(rc));
    }

    void configure() {
        const long timeout_ms = std::max(1L, std::lround(budget_ * 1000.0));
        set(CURLOPT_ERRORBUFFER, error_, "CURLOPT_ERRORBUFFER");
        set(CURLOPT_URL, url_.c_str(), "CURLOPT_URL");
        set(CURLOPT_PROTOCOLS_STR, "http,https", "CURLOPT_PROTOCOLS_STR");
        set(CURLOPT_NOSIGNAL, 1L, "CURLOPT_NOSIGNAL");
        set(CURLOPT_PROXY, "", "CURLOPT_PROXY");  // the check must reach the peer itself
        set(CURLOPT_CONNECTTIMEOUT_MS, timeout_ms, "CURLOPT_CONNECTTIMEOUT_MS");
        set(CURLOPT_TIMEOUT_MS, timeout_ms, "CURLOPT_TIMEOUT_MS");
        set(CURLOPT_USERAGENT, config_.user_agent.c_str(), "CURLOPT_USERAGENT");
        set(CURLOPT_WRITEFUNCTION, &keep_body_prefix, "CURLOPT_WRITEFUNCTION");
        set(CURLOPT_WRITEDATA, static_cast<void *>(&body_), "CURLOPT_WRITEDATA");
        if (config_.virtual_host) {
            connect_to_list_.reset(curl_slist_append(nullptr, connect_to_.c_str()));
            set(CURLOPT_CONNECT_TO, connect_to_list_.get(), "CURLOPT_CONNECT_TO");
        }
        configure_method();
        configure_headers();
        configure_tls();
        configure_redirects();
    }

    void configure_method() {
        const std::string &method = config_.method;
        if (method == "HEAD") {
            set(CURLOPT_NOBODY, 1L, "CURLOPT_NOBODY");
            return;
        }
        if (config_.body || method == "POST") {
            const std::string &body = config_.body ? *config_.body : empty_body_;
            set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()),
                "CURLOPT_POSTFIELDSIZE_LARGE");
            set(CURLOPT_POSTFIELDS, body.c_str(), "CURLOPT_POSTFIELDS");
        }
        if (method != "POST" && !(method == "GET" && !config_.body))
            set(CURLOPT_CUSTOMREQUEST, method.c_str(), "CURLOPT_CUSTOMREQUEST");
    }

    void configure_headers() {
        bool has_expect = false;
        for (const auto &[name, value] : config_.headers) {
            has_expect = has_expect || strcasecmp(name.c_str(), "Expect") == 0;
            // "Name;" is curl's way to send a header with an empty value.
            append_header(value.empty() ? name + ";" : name + ": " + value);
        }
        // A body would otherwise wait up to a second for "100 Continue".
        if (config_.body && !has_expect) append_header("Expect:");
        if (headers_) set(CURLOPT_HTTPHEADER, headers_.get(), "CURLOPT_HTTPHEADER");
    }

    void append_header(const std::string &line) {
        curl_slist *grown = curl_slist_append(headers_.get(), line.c_str());
        if (grown == nullptr) throw adf::Error(ADF_FAILED, "out of memory building headers");
        headers_.release();
        headers_.reset(grown);
    }

    void configure_tls() {
        set(CURLOPT_SSL_VERIFYPEER, config_.verify_tls ? 1L : 0L, "CURLOPT_SSL_VERIFYPEER");
        set(CURLOPT_SSL_VERIFYHOST, config_.verify_tls ? 2L : 0L, "CURLOPT_SSL_VERIFYHOST");
        if (config_.ca_file) set(CURLOPT_CAINFO, config_.ca_file->c_str(), "CURLOPT_CAINFO");
    }

    void configure_redirects() {
        if (!config_.follow_redirects) return;
        set(CURLOPT_FOLLOWLOCATION, 1L, "CURLOPT_FOLLOWLOCATION");
        set(CURLOPT_MAXREDIRS, max_redirects, "CURLOPT_MAXREDIRS");
        set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https", "CURLOPT_REDIR_PROTOCOLS_STR");
    }

    std::string curl_message(CURLcode rc) const {
        return error_[0] != '\0' ? std::string(error_) : std::string(curl_easy_strerror(rc));
    }

    std::string timeout_reason() const {
        std::string reason = "timed out after " + adf::seconds_text(timeout_);
        curl_off_t connected = 0, handshaken = 0, answered = 0, received = 0;
        curl_easy_getinfo(easy_.get(), CURLINFO_CONNECT_TIME_T, &connected);
        curl_easy_getinfo(easy_.get(), CURLINFO_APPCONNECT_TIME_T, &handshaken);
        curl_easy_getinfo(easy_.get(), CURLINFO_STARTTRANSFER_TIME_T, &answered);
        curl_easy_getinfo(easy_.get(), CURLINFO_SIZE_DOWNLOAD_T, &received);
        if (connected == 0) return reason + " connecting to " + peer_;
        if (config_.https && handshaken == 0) return reason + " in the TLS handshake with " + peer_;
        if (answered == 0) return reason + " waiting for the response of " + peer_;
        return reason + " reading the response of " + peer_ + " (" + std::to_string(received) +
               " body bytes received)";
    }

    std::string connect_reason(CURLcode rc) const {
        long os_errno = 0;
        curl_easy_getinfo(easy_.get(), CURLINFO_OS_ERRNO, &os_errno);
        if (os_errno == ECONNREFUSED) return "connect to " + peer_ + " refused";
        const std::string why =
            os_errno != 0 ? std::strerror(static_cast<int>(os_errno)) : curl_message(rc);
        return "connect to " + peer_ + " failed: " + why;
    }

    std::string failure(CURLcode rc) const {
        switch (rc) {
            case CURLE_OPERATION_TIMEDOUT:
                return timeout_reason();
            case CURLE_COULDNT_CONNECT:
                return connect_reason(rc);
            case CURLE_PEER_FAILED_VERIFICATION:
                return "TLS certificate verify failed: " + curl_message(rc);
            case CURLE_SSL_CACERT_BADFILE:
                return "cannot use CA file \"" + config_.ca_file.value_or("") +
                       "\": " + curl_message(rc);
            case CURLE_SSL_CONNECT_ERROR:
                return "TLS handshake with " + peer_ + " failed: " + curl_message(rc);
            case CURLE_GOT_NOTHING:
                return peer_ + " closed the connection without answering";
            case CURLE_TOO_MANY_REDIRECTS:
                return "more than " + std::to_string(max_redirects) + " redirects from " + url_;
            default:
                return "request " + config_.method + " " + url_ +
                       (config_.virtual_host ? " via " + peer_ : std::string()) +
                       " failed: " + curl_message(rc);
        }
    }

    std::optional<std::string> judge_response() const {
        long status = 0;
        curl_easy_getinfo(easy_.get(), CURLINFO_RESPONSE_CODE, &status);
        const auto &valid = config_.valid_status;
        if (std::find(valid.begin(), valid.end(), status) == valid.end())
            return "HTTP status " + std::to_string(status) + " (expected " + join_statuses(valid) +
                   ")";
        if (config_.expect_body && body_.data.find(*config_.expect_body) == std::string::npos)
            return "body does not contain \"" + *config_.expect_body + "\" in its first " +
                   std::to_string(config_.expect_body_bytes) + " bytes";
        return std::nullopt;
    }

    const HttpCheckConfig &config_;
    const std::string peer_;  // "address:port" as connected to
    const double timeout_;
    const double budget_;
    const std::string empty_body_;
    std::string url_;
    std::string connect_to_;
    Easy easy_;
    List headers_;
    List connect_to_list_;
    BodyPrefix body_;
    char error_[CURL_ERROR_SIZE];
};

}  // namespace

void ensure_curl_initialised() {
    static bool initialised = false;
    if (initialised) return;
    const CURLcode rc = curl_global_init(CURL_GLOBAL_DEFAULT);
    if (rc != CURLE_OK)
        throw adf::Error(ADF_FAILED,
                         std::string("cannot initialise libcurl: ") + curl_easy_strerror(rc));
    initialised = true;
}

std::optional<std::string> probe_peer(const HttpCheckConfig &config, const std::string &address,
                                      int family, double timeout) {
    const adf::CheckDeadline deadline(timeout);
    ensure_curl_initialised();
    return Request(config, address, family, timeout, deadline.remaining()).run();
}

}  // namespace http_check
