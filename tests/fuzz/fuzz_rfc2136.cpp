// The rfc2136 client's reading of a server's answer (plugins/rfc2136): any
// bytes parsed as a DNS message, then (1) its TSIG checked against our key
// and a signed request, (2) its meaning as the answer to a read.
//
// Invariants: no forged answer passes the TSIG check (the fuzzer cannot know
// the key); a read yields canonical addresses of the family asked for, or
// fails with adf::Error.
#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

#include "addresses.h"
#include "client.h"
#include "tsig.h"

namespace {

const rfc2136::TsigKey kKey{"fuzz-key.", "hmac-sha256",
                            "c2VjcmV0IG9mIHRoZSBmdXp6IGhhcm5lc3MsIDMyIGJ5dGVzIQ=="};

rfc2136::Client &client() {
    static rfc2136::Client instance([] {
        rfc2136::ClientOptions options;
        options.server = *adf::socket_address("127.0.0.1", 53);
        options.zone = "example.test";
        options.key = kKey;
        return options;
    }());
    return instance;
}

// A request signed with the key, as the client sends one: its MAC is what a
// genuine answer's TSIG covers.
const ldns_pkt &signed_request() {
    static rfc2136::PktPtr request = [] {
        rfc2136::PktPtr query(ldns_pkt_query_new(ldns_dname_new_frm_str("www.example.test."),
                                                 LDNS_RR_TYPE_A, LDNS_RR_CLASS_IN, 0));
        rfc2136::tsig_sign(query.get(), kKey);
        return query;
    }();
    return *request;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const int family = family_of_first_byte(data, size);
    const std::vector<uint8_t> wire(data + (size ? 1 : 0), data + size);
    // As the client parses every answer.
    adf::Result<rfc2136::PktPtr> parsed = adf::dns::parse_message(wire.data(), wire.size());
    if (!parsed) return 0;
    const rfc2136::PktPtr packet = std::move(*parsed);
    const auto problem = rfc2136::tsig_answer_problem(
        packet.get(), wire, kKey, rfc2136::tsig_request_mac(&signed_request()), std::time(nullptr));
    FUZZ_REQUIRE(problem.has_value(), "a forged answer passed the TSIG check");
    try {
        for (const adf::Record &record : client().read_answer(*packet, "www.example.test", family))
            require_canonical(record.address, family);
    } catch (const adf::Error &e) {
        FUZZ_REQUIRE(e.what()[0] != '\0', "a failure without a reason");
    }
    return 0;
}
