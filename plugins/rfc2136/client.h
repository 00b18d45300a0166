// An RFC 2136 dynamic update client for the A/AAAA set of one name: reads
// with a direct non-recursive query, changes it with one update message whose
// prerequisites make it a compare-and-swap. TSIG-signed when a key is given.
// Everything on the wire is built and parsed by libldns.
#ifndef RFC2136_CLIENT_H
#define RFC2136_CLIENT_H

#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <autodnsfailover/dns_answer.hpp>
#include <autodnsfailover/dns_transport.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/posix.hpp>

#include "ldns_handles.h"
#include "tsig.h"

namespace rfc2136 {

using adf::dns::Bytes;

struct ClientOptions {
    adf::SocketAddress server;
    std::string zone;            // the zone the names live in: "example.test"
    std::optional<TsigKey> key;  // none: unsigned messages
    uint32_t default_ttl = 60;   // TTL of a set created from nothing
    double timeout = 3.0;        // seconds per exchange
    bool tcp = false;            // always TCP (else UDP, TCP when truncated or too large)
};

enum class Operation { kRead, kUpdate };

class Client {
   public:
    // Throws adf::Error(ADF_BAD_CONFIG) when the zone is not a domain name.
    explicit Client(ClientOptions options);

    // The records of `fqdn` (A for family 4, AAAA for 6); empty when the name
    // or the set does not exist. Throws adf::Error on anything else.
    std::vector<adf::Record> read(const std::string &fqdn, int family);

    // What the server's answer `packet` to that query means (its ID and TSIG
    // already checked): the records, strictly (dns_answer.hpp), or
    // adf::Error naming what was wrong. Pure: no I/O.
    std::vector<adf::Record> read_answer(const ldns_pkt &packet, const std::string &fqdn,
                                         int family) const;

    // Adds `address` when the set is still `expected`; returns the TTL given
    // to it: the set's own, or `ttl` (else the default) for a new set.
    // adf::Error(ADF_CONFLICT) when the server finds the set changed.
    uint32_t add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                 const std::string &address, uint32_t ttl);

    // Removes `addresses` in one update when the set is still `expected`,
    // never its last record.
    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::vector<std::string> &addresses);

    // Why `fqdn` cannot be managed in the zone (not a domain name, or
    // outside it), or nothing when it can.
    std::optional<std::string> zone_problem(const std::string &fqdn) const;

    // The failure that a response code (and the TSIG error field of the
    // answer, 0 when none) means, in words naming the server, zone and key.
    adf::Error answer_error(int rcode, uint16_t tsig_error, Operation operation,
                            const std::string &fqdn) const;

    const ClientOptions &options() const { return options_; }
    // The server as messages name it: "192.0.2.53:53", "[2001:db8::53]:53".
    const std::string &server() const { return server_; }

   private:
    struct Answer {
        PktPtr packet;
        Bytes wire;
    };

    Answer exchange(const ldns_pkt *request, Operation operation, const std::string &fqdn);
    Bytes transfer(const Bytes &message, const ldns_pkt *sent, bool tcp,
                   adf::dns::Clock::time_point deadline, Operation operation) const;
    void check_signature(ldns_pkt *answer, const Bytes &wire, const ldns_pkt *signed_request,
                         Operation operation, const std::string &fqdn) const;
    double resend_every(Operation operation) const;
    void send_update(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     RrListPtr prerequisites, RrListPtr updates);
    RdfPtr name_in_zone(const std::string &fqdn) const;
    uint16_t next_id();

    ClientOptions options_;
    std::string server_;  // "192.0.2.53:53", for messages
    RdfPtr zone_;
    std::mt19937 random_;
};

}  // namespace rfc2136

#endif  // RFC2136_CLIENT_H
