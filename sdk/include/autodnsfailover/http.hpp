// Optional C++17 helper for plugins that speak HTTP through libcurl (link
// libcurl yourself). Not part of the ABI: header-only, so each plugin stays
// a self-contained .so. It holds one easy handle for the life of a plugin
// instance, so connections (and TLS sessions) are reused between rounds,
// and it is the one place that turns libcurl failures into adf statuses.
//
//   adf::http::Client client;
//   adf::http::Request request;
//   request.url = "https://api.example/v1/records";
//   request.headers = {"Accept: application/json"};
//   adf::http::Response r = client.perform(request);   // never throws for
//   if (!r.answered()) throw r.failure("list records");  // network errors
//
// Thread rules: a Client belongs to one plugin instance; the host calls an
// instance from one thread at a time, which is all libcurl asks.
#ifndef AUTODNSFAILOVER_HTTP_HPP
#define AUTODNSFAILOVER_HTTP_HPP

#include <curl/curl.h>
#include <fcntl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "plugin.hpp"

namespace adf::http {

struct Request {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::optional<std::string> body;   // sent as is
    double timeout = 10.0;             // seconds for the whole exchange
    double connect_timeout = 0;        // seconds; 0: bounded by timeout only
    bool verify_tls = true;            // certificate chain and host name
    std::string ca_file;               // CA bundle; empty: the system's
    // Environment proxies (http_proxy...) are ignored unless asked for: a
    // plugin talks to its provider or to a link-local metadata service.
    bool use_proxy = false;
    long max_redirects = 0;            // 0: redirects are answers, not followed
    std::size_t max_body = 1 << 20;    // a longer answer is a failure
    std::size_t max_headers = 64 << 10; // bytes of response header lines, redirects included
    // libcurl's own AWS SigV4 signing: "aws:amz:REGION:SERVICE" and
    // "key:secret"; both empty for an unsigned request.
    std::string sigv4_scope;
    std::string sigv4_credentials;
    std::string basic_auth;            // "user:password" for HTTP Basic auth
    int family = 0;                    // ADF_FAMILY_IPV4/IPV6: connect over that family only
};

struct Response {
    long status = 0;  // HTTP status; 0 when there was no answer
    std::string body;
    std::map<std::string, std::string> headers;  // names lower-cased; last wins
    std::string no_answer;  // why there was no complete answer, else empty
    bool permanent = false; // no_answer will repeat (bad certificate, bad URL...)
    bool timed_out = false;

    bool answered() const { return no_answer.empty(); }
    std::optional<std::string> header(const std::string &lower_case_name) const {
        auto it = headers.find(lower_case_name);
        if (it == headers.end()) return std::nullopt;
        return it->second;
    }
    // The error to throw for an unanswered request: ADF_TRANSIENT for
    // timeouts, refused or reset connections; ADF_FAILED for what repeats.
    adf::Error failure(const std::string &what) const {
        return adf::Error(permanent ? ADF_FAILED : ADF_TRANSIENT, what + ": " + no_answer);
    }
};

// Text safe for a log line (plugin.hpp's adf::excerpt).
using adf::excerpt;

// The time left for one whole operation of a plugin (a read that pages, a
// change that re-reads and then writes), on top of each request's own
// timeout, so that no answer (a total_pages of a billion, a list of
// thousands of entries to delete one by one) keeps an operation going
// beyond it.
//
//   adf::http::Deadline deadline(operation_timeout_);
//   for (long page = 1; page <= pages; ++page) {
//       request.timeout = deadline.request_timeout(request_timeout_, "listing page " + ...);
//       ...
//   }
class Deadline {
   public:
    using Clock = std::chrono::steady_clock;

    // `seconds` from now; `key` is the config key that sets it, for messages.
    explicit Deadline(double seconds, std::string key = "operation_timeout")
        : seconds_(seconds), key_(std::move(key)), start_(Clock::now()) {}

    double seconds() const { return seconds_; }
    double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }
    double remaining() const { return std::max(0.0, seconds_ - elapsed()); }

    // The timeout for the next request: `request_timeout` cut to what is
    // left. When nothing is left, ADF_TRANSIENT saying that `what` (the next
    // step, e.g. "GET page 7 of 1000000000") would pass the deadline.
    double request_timeout(double request_timeout, const std::string &what) const {
        const double left = remaining();
        if (left < 0.001) throw passed("gave up before " + what);
        return std::min(request_timeout, left);
    }

    // The error for a request about `what` that got no answer: the
    // deadline's when it is what cut the request short, else the request's
    // own (Response::failure).
    adf::Error failure(const Response &response, const std::string &what) const {
        if (response.timed_out && remaining() < 0.001) return passed("gave up during " + what);
        return response.failure(what);
    }

   private:
    adf::Error passed(const std::string &gave_up) const {
        return adf::Error(ADF_TRANSIENT, gave_up + ": the operation took " +
                                             adf::seconds_text(elapsed()) + ", its limit is " +
                                             adf::seconds_text(seconds_) + " (key \"" + key_ +
                                             "\")");
    }

    double seconds_;
    std::string key_;
    Clock::time_point start_;
};

// The name of the first request header holding a control character (CR and
// LF would start a header of the server's choosing), or nothing.
inline std::optional<std::string> unsafe_header(const std::vector<std::string> &headers) {
    for (const std::string &header : headers)
        for (const char c : header)
            if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f)
                return header.substr(0, header.find(':'));
    return std::nullopt;
}

// Failures that repeat however often they are retried.
inline bool is_permanent(CURLcode code) {
    switch (code) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_ENGINE_NOTFOUND:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_TOO_MANY_REDIRECTS:
        case CURLE_LOGIN_DENIED:
            return true;
        default:
            return false;
    }
}

inline bool is_http_url(const std::string &url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

// "http://host:port/" -> "http://host:port"
inline std::string without_trailing_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

// The http:// or https:// base URL of config key `path` (`fallback` when
// absent), without trailing slashes; any other value is a config error.
inline std::string url_setting(adf::Host &host, const char *path, const std::string &fallback) {
    const std::string url = host.string(path, fallback);
    if (!is_http_url(url))
        host.config_error(path, "expected an http:// or https:// URL, got \"" + url + "\"");
    return without_trailing_slash(url);
}

// Percent-encodes a URL query or path component (RFC 3986 unreserved kept).
inline std::string escape(const std::string &text) {
    static const char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 0xf];
        }
    }
    return out;
}

class Client {
   public:
    Client() {
        // Not thread-safe, but plugins are called from one thread only.
        static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (global != CURLE_OK)
            throw adf::Error(ADF_FAILED, std::string("libcurl initialisation failed: ") +
                                             curl_easy_strerror(global));
        handle_ = curl_easy_init();
        if (handle_ == nullptr) throw adf::Error(ADF_FAILED, "libcurl could not create a handle");
    }
    ~Client() { curl_easy_cleanup(handle_); }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // Runs one request. Network failures come back as !answered(), never
    // as exceptions; any HTTP status is an answer.
    Response perform(const Request &request) {
        Response response;
        // A value from outside (a token, a config string) must not add
        // headers of its own. The value may be a secret: name the header only.
        if (const std::optional<std::string> header = unsafe_header(request.headers)) {
            response.no_answer = "not sent: the value of the request header " +
                                 excerpt(*header, 40) +
                                 " holds a control character (a line break would inject "
                                 "headers)";
            response.permanent = true;
            return response;
        }
        curl_easy_reset(handle_);  // keeps the connection cache
        Sink sink{&response.body, request.max_body, false};
        HeaderSink header_sink{&response.headers, request.max_headers, 0, false};
        char error_text[CURL_ERROR_SIZE] = "";
        curl_slist *headers = nullptr;
        for (const auto &h : request.headers) headers = curl_slist_append(headers, h.c_str());
        configure(request, headers, sink, header_sink, error_text);
        const CURLcode code = curl_easy_perform(handle_);
        curl_slist_free_all(headers);
        // Drop the copies of secrets libcurl keeps until the next reset.
        curl_easy_setopt(handle_, CURLOPT_USERPWD, nullptr);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, nullptr);
        if (sink.overflow) {
            response.no_answer = "the answer is longer than " + std::to_string(request.max_body) +
                                 " bytes, starting " + excerpt(response.body);
            response.permanent = true;
        } else if (header_sink.overflow) {
            response.no_answer = "the answer's header lines are longer than " +
                                 std::to_string(request.max_headers) + " bytes";
            response.permanent = true;
        } else if (code != CURLE_OK) {
            response.no_answer = (error_text[0] != '\0' ? error_text : curl_easy_strerror(code)) +
                                 std::string(" (curl error ") + std::to_string(code) + ")";
            response.permanent = is_permanent(code);
            response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
        }
        if (!response.answered()) {
            response.body.clear();
            return response;
        }
        curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.status);
        return response;
    }

   private:
    struct Sink {
        std::string *body;
        std::size_t limit;
        bool overflow;
    };
    struct HeaderSink {
        std::map<std::string, std::string> *headers;
        std::size_t limit;
        std::size_t used;
        bool overflow;
    };

    void configure(const Request &r, curl_slist *headers, Sink &sink, HeaderSink &header_sink,
                   char *error_text) {
        curl_easy_setopt(handle_, CURLOPT_URL, r.url.c_str());
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error_text);
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Client::write_body);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &Client::write_header);
        curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &header_sink);
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_SOCKOPTFUNCTION, &Client::close_on_exec);
        curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, milliseconds(r.timeout));
        if (r.connect_timeout > 0)
            curl_easy_setopt(handle_, CURLOPT_CONNECTTIMEOUT_MS, milliseconds(r.connect_timeout));
        if (!r.use_proxy) curl_easy_setopt(handle_, CURLOPT_PROXY, "");
        if (!r.verify_tls) {
            curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYPEER, 0L);
            curl_easy_setopt(handle_, CURLOPT_SSL_VERIFYHOST, 0L);
        }
        if (!r.ca_file.empty()) curl_easy_setopt(handle_, CURLOPT_CAINFO, r.ca_file.c_str());
        if (r.family == ADF_FAMILY_IPV4 || r.family == ADF_FAMILY_IPV6)
            curl_easy_setopt(handle_, CURLOPT_IPRESOLVE,
                             r.family == ADF_FAMILY_IPV6 ? CURL_IPRESOLVE_V6 : CURL_IPRESOLVE_V4);
        if (r.max_redirects > 0) {
            curl_easy_setopt(handle_, CURLOPT_FOLLOWLOCATION, 1L);
            curl_easy_setopt(handle_, CURLOPT_MAXREDIRS, r.max_redirects);
        }
        if (r.body) {
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(r.body->size()));
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, r.body->c_str());
        }
        if (r.method == "HEAD") curl_easy_setopt(handle_, CURLOPT_NOBODY, 1L);
        else if (r.method != "GET" && r.method != "POST")
            curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, r.method.c_str());
        else if (r.method == "POST" && !r.body)
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, 0L);
        if (!r.sigv4_scope.empty()) {
            curl_easy_setopt(handle_, CURLOPT_AWS_SIGV4, r.sigv4_scope.c_str());
            curl_easy_setopt(handle_, CURLOPT_USERPWD, r.sigv4_credentials.c_str());
        } else if (!r.basic_auth.empty()) {
            curl_easy_setopt(handle_, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
            curl_easy_setopt(handle_, CURLOPT_USERPWD, r.basic_auth.c_str());
        }
    }

    static long milliseconds(double seconds) {
        const long ms = std::lround(seconds * 1000.0);
        return ms > 0 ? ms : 1L;
    }

    // The host forks for checks, and a check may exec a program: a kept-alive
    // connection to a provider must not leak into it.
    static int close_on_exec(void *, curl_socket_t socket, curlsocktype) {
        const int flags = fcntl(socket, F_GETFD);
        if (flags >= 0) fcntl(socket, F_SETFD, flags | FD_CLOEXEC);
        return CURL_SOCKOPT_OK;
    }

    static std::size_t write_body(char *data, std::size_t size, std::size_t count, void *user) {
        auto *sink = static_cast<Sink *>(user);
        const std::size_t bytes = size * count;
        if (sink->body->size() + bytes > sink->limit) {
            sink->body->append(data, sink->limit - sink->body->size());
            sink->overflow = true;
            return 0;  // aborts the transfer
        }
        sink->body->append(data, bytes);
        return bytes;
    }

    static std::size_t write_header(char *data, std::size_t size, std::size_t count, void *user) {
        auto *sink = static_cast<HeaderSink *>(user);
        const std::size_t bytes = size * count;
        sink->used += bytes;
        if (sink->used > sink->limit) {
            sink->overflow = true;
            return 0;  // aborts the transfer
        }
        std::map<std::string, std::string> *headers = sink->headers;
        const std::string line(data, bytes);
        const auto colon = line.find(':');
        if (colon != std::string::npos) {
            std::string name = line.substr(0, colon);
            std::transform(name.begin(), name.end(), name.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            const auto start = line.find_first_not_of(" \t", colon + 1);
            const auto end = line.find_last_not_of(" \t\r\n");
            (*headers)[name] = start == std::string::npos || end < start
                                   ? std::string()
                                   : line.substr(start, end - start + 1);
        }
        return size * count;
    }

    CURL *handle_ = nullptr;
};

}  // namespace adf::http

#endif  // AUTODNSFAILOVER_HTTP_HPP
