// One reusable libcurl easy handle for the AWS plugins (route53,
// ec2-metadata). Header-only and not a plugin: each plugin includes it by
// relative path. The handle is kept between calls so that libcurl's
// connection cache keeps the TLS connection to the endpoint alive.
#pragma once

#include <curl/curl.h>
#include <fcntl.h>

#include <cmath>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace adf_aws {

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::optional<std::string> body;   // sent as is (POST/PUT)
    double timeout = 10.0;             // seconds for the whole exchange
    // SigV4 signing by libcurl: "aws:amz:REGION:SERVICE", and "key:secret".
    // Both empty for an unsigned request.
    std::string sigv4_scope;
    std::string sigv4_credentials;
    // False for link-local services (instance metadata) that must never go
    // through an http_proxy from the environment.
    bool allow_proxy = true;
};

struct HttpResponse {
    long status = 0;         // HTTP status; 0 when there was no answer
    std::string body;
    std::string no_answer;   // why there was no complete answer, else empty
    bool timed_out = false;

    bool answered() const { return no_answer.empty(); }
};

class HttpClient {
   public:
    HttpClient() : handle_(curl_easy_init()) {
        if (handle_ == nullptr) throw std::runtime_error("libcurl could not create a handle");
    }
    ~HttpClient() { curl_easy_cleanup(handle_); }
    HttpClient(const HttpClient &) = delete;
    HttpClient &operator=(const HttpClient &) = delete;

    HttpResponse perform(const HttpRequest &request) {
        // reset() clears the options of the last request but keeps the
        // connection cache, which is the point of reusing the handle.
        curl_easy_reset(handle_);
        HttpResponse response;
        char error_text[CURL_ERROR_SIZE] = "";
        curl_slist *headers = nullptr;
        for (const auto &header : request.headers) headers = curl_slist_append(headers, header.c_str());

        curl_easy_setopt(handle_, CURLOPT_URL, request.url.c_str());
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, error_text);
        curl_easy_setopt(handle_, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &HttpClient::append);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &response.body);
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_SOCKOPTFUNCTION, &HttpClient::close_on_exec);
        const long timeout_ms = std::lround(request.timeout * 1000.0);
        curl_easy_setopt(handle_, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 1L);
        if (!request.allow_proxy) curl_easy_setopt(handle_, CURLOPT_PROXY, "");
        if (request.body) {
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body->size()));
            curl_easy_setopt(handle_, CURLOPT_POSTFIELDS, request.body->c_str());
        }
        if (request.method != "GET" && request.method != "POST")
            curl_easy_setopt(handle_, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        if (!request.sigv4_scope.empty()) {
            curl_easy_setopt(handle_, CURLOPT_AWS_SIGV4, request.sigv4_scope.c_str());
            curl_easy_setopt(handle_, CURLOPT_USERPWD, request.sigv4_credentials.c_str());
        }

        const CURLcode code = curl_easy_perform(handle_);
        curl_slist_free_all(headers);
        if (code != CURLE_OK) {
            response.no_answer = error_text[0] != '\0' ? error_text : curl_easy_strerror(code);
            response.timed_out = code == CURLE_OPERATION_TIMEDOUT;
            response.status = 0;
            response.body.clear();
        } else {
            curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.status);
        }
        // Drop the copy of the credentials libcurl keeps until the next reset.
        if (!request.sigv4_scope.empty()) curl_easy_setopt(handle_, CURLOPT_USERPWD, nullptr);
        return response;
    }

   private:
    // The host forks for checks, and a check may exec a program: a kept-alive
    // connection to AWS must not leak into it.
    static int close_on_exec(void *, curl_socket_t socket, curlsocktype) {
        const int flags = fcntl(socket, F_GETFD);
        if (flags >= 0) fcntl(socket, F_SETFD, flags | FD_CLOEXEC);
        return CURL_SOCKOPT_OK;
    }

    static size_t append(char *data, size_t size, size_t count, void *body) {
        static_cast<std::string *>(body)->append(data, size * count);
        return size * count;
    }

    CURL *handle_;
};

// The body of an answer, shortened to fit in an error message.
inline std::string excerpt(const std::string &body, size_t limit = 120) {
    std::string text;
    for (char c : body) text += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
    const auto first = text.find_first_not_of(' ');
    if (first == std::string::npos) return "an empty body";
    text = text.substr(first);
    if (text.size() > limit) text = text.substr(0, limit) + "...";
    return "\"" + text + "\"";
}

// "http://host:port/" -> "http://host:port"
inline std::string without_trailing_slash(std::string url) {
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
}

inline bool is_http_url(const std::string &url) {
    return url.rfind("http://", 0) == 0 || url.rfind("https://", 0) == 0;
}

}  // namespace adf_aws
