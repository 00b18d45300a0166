// TSIG (RFC 8945) through libldns: which algorithms it can sign with,
// signing a request and checking the answer's signature.
#ifndef RFC2136_TSIG_H
#define RFC2136_TSIG_H

#include <cstdint>
#include <ctime>
#include <optional>
#include <string>
#include <vector>

// After the standard headers (see autodnsfailover/ldns.hpp).
#include <ldns/ldns.h>

namespace rfc2136 {

// Seconds of clock difference a signature tolerates (RFC 8945 recommends 300).
constexpr uint16_t kTsigFudge = 300;

struct TsigKey {
    std::string name;       // the key's domain name, as the server knows it: "ddns-key"
    std::string algorithm;  // as configured: "hmac-sha256"
    std::string secret;     // base64
};

// The algorithm names the config accepts, for messages.
const char *tsig_algorithm_list();

// The domain name TSIG uses on the wire for a configured algorithm
// ("hmac-sha256" -> "hmac-sha256.", "hmac-md5" -> "hmac-md5.sig-alg.reg.int."),
// or nothing when the name is not a TSIG HMAC algorithm.
std::optional<std::string> tsig_algorithm_dname(const std::string &algorithm);

// What is wrong with a key, and in which of its parts.
struct TsigKeyProblem {
    enum Part { kName, kAlgorithm, kSecret } part;
    std::string message;
};

// Why `key` cannot sign, or nothing when libldns signs a test message with
// it. Checks the algorithm name, the key name and the base64 secret, and
// that this libldns knows the algorithm.
std::optional<TsigKeyProblem> tsig_key_problem(const TsigKey &key);

// Signs `pkt` (adds its TSIG record). Throws adf::Error(ADF_FAILED).
void tsig_sign(ldns_pkt *pkt, const TsigKey &key);

// The MAC of a signed request: the answer's MAC covers it.
const ldns_rdf *tsig_request_mac(const ldns_pkt *signed_request);

// The error field of the answer's TSIG record (0: none, or no TSIG at all).
uint16_t tsig_error(const ldns_pkt *answer);

// "BADSIG", "BADKEY", "BADTIME"... or "TSIG error N".
std::string tsig_error_name(uint16_t error);

// Why the TSIG of `answer` (parsed from `wire`) does not prove it comes from
// a holder of `key` in reply to the request that carried `request_mac`, or
// nothing when it does. `now` is the local clock (Unix seconds).
std::optional<std::string> tsig_answer_problem(ldns_pkt *answer, const std::vector<uint8_t> &wire,
                                               const TsigKey &key, const ldns_rdf *request_mac,
                                               std::time_t now);

}  // namespace rfc2136

#endif  // RFC2136_TSIG_H
