// A DNS server's answer to a read over DNS (core/dnsread/answer: read_from):
// any bytes. The harness writes our query's ID into the first two bytes so
// that the fuzzer reaches the judging of the answer, not only the ID check.
//
// Invariants: an answer is used only when authoritative and strictly ours;
// then its records are canonical addresses of the family asked for, sorted,
// without duplicates; anything else moves on to the next server with a
// reason.
#include <autodnsfailover/ldns.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "addresses.h"
#include "dnsread/answer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3) return 0;
    const int family = family_of_first_byte(data, size);
    const ldns_rr_type type = family == 6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
    static const adf::ldns::RdfPtr name(ldns_dname_new_frm_str("www.example.test."));
    const adf::dnsread::Query query(*name, type);
    FUZZ_REQUIRE(query.valid(), "cannot build the query");
    std::vector<uint8_t> bytes(data + 1, data + size);
    bytes[0] = static_cast<uint8_t>(query.id() >> 8);
    bytes[1] = static_cast<uint8_t>(query.id() & 0xff);
    std::string why;
    const adf::ldns::PktPtr answer = query.response(bytes, &why);
    if (!answer) {
        FUZZ_REQUIRE(!why.empty(), "a refused answer without a reason");
        return 0;
    }
    const adf::dnsread::Attempt attempt = query.judge(*answer);
    if (attempt.kind != adf::dnsread::Attempt::Answer) {
        FUZZ_REQUIRE(!attempt.reason.empty(), "an unusable answer without a reason");
        FUZZ_REQUIRE(attempt.records.empty(), "records from an unusable answer");
        return 0;
    }
    FUZZ_REQUIRE(ldns_pkt_aa(answer.get()), "a non-authoritative answer was used");
    for (size_t i = 0; i < attempt.records.size(); ++i) {
        const adf::Address &address = attempt.records[i].address;
        FUZZ_REQUIRE(address.family == family, "a record of the other family");
        require_canonical(address.text(), family);
        if (i > 0) FUZZ_REQUIRE(attempt.records[i - 1].address < address, "not sorted or unique");
    }
    return 0;
}
