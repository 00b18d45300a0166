// rfc2136: the A/AAAA records live on a DNS server that takes RFC 2136
// dynamic updates (BIND, Knot, PowerDNS, Windows DNS...), optionally signed
// with a TSIG key. Every change is one update message whose prerequisites
// hold the whole set that was read, so the server itself refuses a change
// to a set that changed meanwhile: a true compare-and-swap.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/posix.hpp>

#include "client.h"
#include "tsig.h"

namespace {

constexpr const char *kServer = "/server";
constexpr const char *kPort = "/port";
constexpr const char *kZone = "/zone";
constexpr const char *kKeyName = "/key_name";
constexpr const char *kKeyAlgorithm = "/key_algorithm";
constexpr const char *kKeySecret = "/key_secret";
constexpr const char *kTtl = "/ttl";
constexpr const char *kTimeout = "/timeout";
constexpr const char *kTcp = "/tcp";

class Rfc2136 {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_ATOMIC_CAS;

    explicit Rfc2136(adf::Host &host) : host_(host) {
        rfc2136::ClientOptions options;
        const std::string server = host.required_string(
            kServer, "the IP address of the DNS server that takes the updates");
        const auto port = static_cast<uint16_t>(host.integer(kPort, 53, 1, 65535));
        const std::string zone =
            host.required_string(kZone, "the zone that holds the names, e.g. \"example.test\"");
        options.key = key(host);
        options.default_ttl = static_cast<uint32_t>(host.integer(kTtl, 60, 1, 2147483647));
        options.timeout = host.number(kTimeout, 3.0, 0.1, 300.0);
        options.tcp = host.boolean(kTcp, false);
        if (!server.empty()) {  // empty: required_string said why
            if (auto address = adf::socket_address(server, port))
                options.server = *address;
            else
                host.config_error(kServer, "\"" + server +
                                               "\" is not an IP address (IPv4 or IPv6, e.g. "
                                               "\"192.0.2.53\")");
        }
        if (host.config_failed()) return;
        options.zone = zone;
        try {
            client_ = std::make_unique<rfc2136::Client>(options);
        } catch (const adf::Error &e) {
            host.config_error(kZone, e.what());
        }
    }

    void validate_name(const std::string &fqdn) const {
        if (const std::optional<std::string> problem = client_->zone_problem(fqdn))
            throw adf::Error(ADF_BAD_CONFIG, *problem);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        for (const adf::Record &record : client_->read(fqdn, family))
            sink.emit(record.address, record.ttl);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        const uint32_t ttl = client_->add(fqdn, family, expected, record.address, record.ttl);
        host_.info("added " + record.address + " to " + fqdn + " " + adf::record_type(family) +
                   " (TTL " + std::to_string(ttl) + ") at " + client_->server());
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        remove_many(fqdn, family, expected, {address});
    }

    void remove_many(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     const std::vector<std::string> &addresses) {
        client_->remove(fqdn, family, expected, addresses);
        std::string listed;
        for (const auto &address : addresses) listed += (listed.empty() ? "" : ", ") + address;
        host_.info("removed " + listed + " from " + fqdn + " " + adf::record_type(family) +
                   " at " + client_->server());
    }

   private:
    // The TSIG key, or none for unsigned updates (servers that allow updates
    // by client address). Name and secret come together.
    static std::optional<rfc2136::TsigKey> key(adf::Host &host) {
        const std::optional<std::string> name = host.string(kKeyName);
        const std::optional<std::string> algorithm = host.string(kKeyAlgorithm);
        const std::optional<std::string> secret = host.string(kKeySecret);
        if (!name && !secret) {
            if (algorithm)
                host.config_error(kKeyAlgorithm, "is set but key_name and key_secret are not: "
                                                 "give the whole key, or none for unsigned "
                                                 "updates");
            return std::nullopt;
        }
        if (!name) {
            if (!host.has(kKeyName))
                host.config_error(kKeyName, "required with key_secret: the TSIG key's name as "
                                            "the server knows it, e.g. \"ddns-key\"");
            return std::nullopt;
        }
        if (!secret) {
            if (!host.has(kKeySecret))
                host.config_error(kKeySecret, "required with key_name: the key's base64 secret "
                                              "(better {\"file\": ...} or {\"env\": ...})");
            return std::nullopt;
        }
        rfc2136::TsigKey key{*name, algorithm.value_or("hmac-sha256"), *secret};
        if (auto problem = rfc2136::tsig_key_problem(key)) {
            const char *path = problem->part == rfc2136::TsigKeyProblem::kName ? kKeyName
                               : problem->part == rfc2136::TsigKeyProblem::kAlgorithm
                                   ? kKeyAlgorithm
                                   : kKeySecret;
            host.config_error(path, problem->message);
            return std::nullopt;
        }
        return key;
    }

    adf::Host &host_;
    std::unique_ptr<rfc2136::Client> client_;
};

}  // namespace

ADF_DNS_PLUGIN(Rfc2136, "rfc2136", "1.0.0",
               "A/AAAA records through RFC 2136 dynamic updates (BIND, Knot...), TSIG-signed, "
               "compare-and-swap by prerequisites (libldns)");
