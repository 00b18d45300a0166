// One libcurl easy handle kept for the life of a plugin instance (so that
// connections are reused between rounds), and the one place that runs a
// request and turns libcurl failures into adf::Error statuses.
// Only web-ip uses it now: the SDK's adf::http::Client (http.hpp) has no way
// to set CURLOPT_IPRESOLVE, which web-ip's "family" key needs for URLs whose
// name resolves to both families. Once the SDK client can, this file goes.
#pragma once

#include <curl/curl.h>

#include <autodnsfailover/plugin.hpp>

#include <cstddef>
#include <string>

namespace adf_http {

struct Response {
    long status = 0;
    std::string body;
};

// A curl_slist that frees itself.
class HeaderList {
   public:
    HeaderList() = default;
    ~HeaderList() { curl_slist_free_all(list_); }
    HeaderList(const HeaderList &) = delete;
    HeaderList &operator=(const HeaderList &) = delete;

    void add(const std::string &header) {
        curl_slist *grown = curl_slist_append(list_, header.c_str());
        if (grown == nullptr) throw adf::Error(ADF_FAILED, "out of memory building HTTP headers");
        list_ = grown;
    }
    curl_slist *get() const { return list_; }

   private:
    curl_slist *list_ = nullptr;
};

// Text safe to put in a log line: at most `limit` bytes of `raw`, with
// control characters and non-ASCII bytes written as \n, \t or \xNN.
inline std::string quote_excerpt(const std::string &raw, std::size_t limit) {
    static const char hex[] = "0123456789abcdef";
    std::string out = "\"";
    for (std::size_t i = 0; i < raw.size() && i < limit; ++i) {
        const auto c = static_cast<unsigned char>(raw[i]);
        if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '"' || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c < 0x20 || c >= 0x7f) {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 0xf];
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
    if (raw.size() > limit) out += "...";
    return out;
}

// Failures that will repeat however often they are retried: a certificate
// that does not verify, a URL libcurl cannot use. Everything else (refused
// connections, timeouts, resets, DNS hiccups) is worth retrying next round.
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

class Session {
   public:
    Session() {
        // Not thread-safe, but the host calls plugins from one thread only.
        static const CURLcode global = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (global != CURLE_OK)
            throw adf::Error(ADF_FAILED, std::string("libcurl initialisation failed: ") +
                                             curl_easy_strerror(global));
        handle_ = curl_easy_init();
        if (handle_ == nullptr) throw adf::Error(ADF_FAILED, "libcurl could not create a handle");
    }
    ~Session() { curl_easy_cleanup(handle_); }
    Session(const Session &) = delete;
    Session &operator=(const Session &) = delete;

    // Starts a new request: forgets the options of the previous one but
    // keeps its open connections and DNS cache.
    CURL *start() {
        curl_easy_reset(handle_);
        return handle_;
    }

    // Runs the request set up since start(). `what` ("GET https://...")
    // names it in errors. An answer longer than `max_body` bytes is an
    // error (ADF_FAILED): nothing this project fetches is ever that big.
    Response perform(const std::string &what, std::size_t max_body) {
        Sink sink{{}, max_body, false};
        char message[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(handle_, CURLOPT_WRITEFUNCTION, &Session::write);
        curl_easy_setopt(handle_, CURLOPT_WRITEDATA, &sink);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, message);
        curl_easy_setopt(handle_, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(handle_, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(handle_, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
        const CURLcode code = curl_easy_perform(handle_);
        curl_easy_setopt(handle_, CURLOPT_ERRORBUFFER, nullptr);
        if (sink.overflow)
            throw adf::Error(ADF_FAILED, what + ": the answer is longer than " +
                                             std::to_string(max_body) + " bytes, starting " +
                                             quote_excerpt(sink.body, 60));
        if (code != CURLE_OK) {
            const std::string reason = message[0] != '\0' ? message : curl_easy_strerror(code);
            throw adf::Error(is_permanent(code) ? ADF_FAILED : ADF_TRANSIENT,
                             what + ": " + reason + " (curl error " +
                                 std::to_string(static_cast<int>(code)) + ")");
        }
        Response response;
        curl_easy_getinfo(handle_, CURLINFO_RESPONSE_CODE, &response.status);
        response.body = std::move(sink.body);
        return response;
    }

   private:
    struct Sink {
        std::string body;
        std::size_t limit;
        bool overflow;
    };

    static std::size_t write(char *data, std::size_t size, std::size_t count, void *user) {
        auto *sink = static_cast<Sink *>(user);
        const std::size_t bytes = size * count;
        if (sink->body.size() + bytes > sink->limit) {
            sink->body.append(data, sink->limit - sink->body.size());
            sink->overflow = true;
            return 0;  // aborts the transfer
        }
        sink->body.append(data, bytes);
        return bytes;
    }

    CURL *handle_ = nullptr;
};

}  // namespace adf_http
