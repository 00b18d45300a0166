// A real BIND 9 (named) for the rfc2136 unit tests: serves example.test on a
// free loopback port from a temporary directory, takes updates signed with a
// fresh hmac-sha256 key "ddns-key", and is stopped (directory removed) when
// the object goes away.
#ifndef RFC2136_TEST_NAMED_SERVER_H
#define RFC2136_TEST_NAMED_SERVER_H

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "client.h"
#include "tsig.h"

namespace rfc2136_test {

// Is `named` on PATH?
bool named_available();

// A new random base64 secret of `bytes` bytes.
std::string random_secret(size_t bytes = 32);

class NamedServer {
   public:
    // `records`: zone-file lines relative to example.test ("www 60 IN A 192.0.2.1").
    explicit NamedServer(const std::vector<std::string> &records);
    ~NamedServer();
    NamedServer(const NamedServer &) = delete;
    NamedServer &operator=(const NamedServer &) = delete;

    uint16_t port() const { return port_; }
    const rfc2136::TsigKey &key() const { return key_; }
    // Client options for this server, signed with its key (or `key`), or unsigned.
    rfc2136::ClientOptions options() const;
    rfc2136::ClientOptions options_with_key(const rfc2136::TsigKey &key) const;
    rfc2136::ClientOptions unsigned_options() const;
    std::string log() const;

   private:
    bool start(const std::vector<std::string> &records);
    bool wait_ready();
    void stop();

    std::filesystem::path directory_;
    rfc2136::TsigKey key_;
    uint16_t port_ = 0;
    pid_t pid_ = -1;
};

}  // namespace rfc2136_test

#endif  // RFC2136_TEST_NAMED_SERVER_H
