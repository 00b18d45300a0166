// http-check: a peer is alive when an HTTP(S) request to it answers with an
// expected status (and, optionally, an expected string in its body).
#include <autodnsfailover/plugin.hpp>

#include "http_config.hpp"
#include "http_request.hpp"

namespace http_check {

class HttpCheck {
   public:
    explicit HttpCheck(adf::Host &host)
        : host_(host), config_(read_config(host, "autodnsfailover/" ADF_HTTP_CHECK_VERSION)) {
        ensure_curl_initialised();
    }

    bool check(const std::string &address, int family, double timeout) {
        const auto dead_reason = probe_peer(config_, address, family, timeout);
        if (!dead_reason) return true;
        host_.set_error(*dead_reason);
        return false;
    }

   private:
    adf::Host &host_;
    const HttpCheckConfig config_;
};

}  // namespace http_check

ADF_CHECK_PLUGIN(http_check::HttpCheck, "http-check", ADF_HTTP_CHECK_VERSION,
                 "HTTP(S) request to the peer: expected status, optional body string");
