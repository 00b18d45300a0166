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

// Text safe for a log line: at most `limit` bytes of `raw` in quotes, with
// control characters and non-ASCII bytes escaped; "an empty body" if empty.
inline std::string excerpt(const std::string &raw, std::size_t limit = 60) {
    if (raw.find_first_not_of(" \t\r\n") == std::string::npos) return "an empty body";
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::size_t i = 0; i < raw.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c == '"' || c == '\\') out += {'\\', static_cast<char>(c)};
        else if (c < 0x20 || c >= 0x7f) out += {'\\', 'x', hex[c >> 4], hex[c & 0xf]};
        else out += static_cast<char>(c);
    }
    out += '"';
    if (raw.size() > limit) out += "...";
    return out;
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
        curl_easy_reset(handle_);  // keeps the connection cache
        Response response;
        Sink sink{&response.body, request.max_body, false};
        char error_text[CURL_ERROR_SIZE] = "";
        curl_slist *headers = nullptr;
        for (const auto &h : request.headers) headers = curl_slist_append(headers, h.c_str());
        configure(request, headers, sink, response, error_text);
        const CURLcode code = curl_easy_perform(handle_);
        curl_slist_free_all(headers);
        // Drop the copies of secrets libcurl keeps until the next reset.
        curl_easy_setopt(handle_, CURLOPT_USERPWD, nullptr);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, nullptr);
        if (sink.overflow) {
            response.no_answer = "the answer is longer than " + std::to_string(request.max_body) +
                                 " bytes, starting " + excerpt(response.body);
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

    void configure(const Request &r, curl_slist *headers, Sink &sink, Response &response,
                   char *error_text) {
        curl_easy_setopt(handle_, CURLOPT_URL, r.url.c_str());
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error_text);
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Client::write_body);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(handle_, CURLOPT_HEADERFUNCTION, &Client::write_header);
        curl_easy_setopt(handle_, CURLOPT_HEADERDATA, &response.headers);
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
        auto *headers = static_cast<std::map<std::string, std::string> *>(user);
        const std::string line(data, size * count);
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
