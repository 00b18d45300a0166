// adf::dns::address_records and alias_target (sdk dns_answer.hpp): the
// A/AAAA records of one name in a DNS answer, strictly.
#include <autodnsfailover/dns_answer.hpp>
#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace {

using adf::ldns::PktPtr;
using adf::ldns::RdfPtr;

// An answer whose answer section holds `lines` (zone-file syntax).
PktPtr answer(const std::vector<std::string> &lines) {
    PktPtr packet(ldns_pkt_new());
    ldns_pkt_set_qr(packet.get(), true);
    ldns_pkt_set_aa(packet.get(), true);
    for (const std::string &line : lines) {
        ldns_rr *rr = nullptr;
        REQUIRE(ldns_rr_new_frm_str(&rr, line.c_str(), 0, nullptr, nullptr) == LDNS_STATUS_OK);
        ldns_pkt_push_rr(packet.get(), LDNS_SECTION_ANSWER, rr);
    }
    return packet;
}

RdfPtr www() { return RdfPtr(ldns_dname_new_frm_str("www.example.test.")); }

std::string refusal(const std::vector<std::string> &lines, ldns_rr_type type = LDNS_RR_TYPE_A) {
    const auto read = adf::dns::address_records(*answer(lines), *www(), type);
    REQUIRE_FALSE(read);
    return read.reason();
}

}  // namespace

TEST_CASE("dns answers: the set of the name, canonical, and RRSIGs over it left out") {
    const auto read = adf::dns::address_records(
        *answer({"WWW.example.test. 30 IN AAAA 2001:DB8:0::1", "www.example.test. 30 IN AAAA ::2",
                 "www.example.test. 30 IN RRSIG AAAA 13 3 30 20300101000000 20200101000000 1 "
                 "example.test. dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ=="}),
        *www(), LDNS_RR_TYPE_AAAA);
    REQUIRE(read);
    REQUIRE(read->size() == 2);
    CHECK((*read)[0].address == "2001:db8::1");
    CHECK((*read)[0].ttl == 30);
    CHECK((*read)[1].address == "::2");
    CHECK(adf::dns::address_records(*answer({}), *www(), LDNS_RR_TYPE_A)->empty());
}

TEST_CASE("dns answers: anything but the set asked for is refused, naming it") {
    CHECK(refusal({"other.example.test. 60 IN A 192.0.2.1"}) ==
          "the answer holds a record of other.example.test IN A, where only www.example.test A "
          "IN records belong");
    CHECK(refusal({"www.example.test. 60 IN AAAA 2001:db8::1"}) ==
          "the answer holds a record of www.example.test IN AAAA, where only www.example.test A "
          "IN records belong");
    CHECK(refusal({"www.example.test. 60 CH A 192.0.2.1"}).find("www.example.test CH A") !=
          std::string::npos);
    CHECK(refusal({"www.example.test. 60 IN A 192.0.2.1", "www.example.test. 60 IN TXT \"x\""})
              .find("www.example.test IN TXT") != std::string::npos);
    CHECK(refusal({"www.example.test. 60 IN RRSIG TXT 13 3 30 20300101000000 20200101000000 1 "
                   "example.test. dGhpcyBpcyBub3QgYSByZWFsIHNpZ25hdHVyZQ=="})
              .find("IN RRSIG") != std::string::npos);
}

TEST_CASE("dns answers: a CNAME at the name is found with its target") {
    const auto packet = answer({"www.example.test. 60 IN CNAME pool.example.test.",
                                "pool.example.test. 60 IN A 192.0.2.1"});
    CHECK(*adf::dns::alias_target(*packet, *www()) == "pool.example.test");
    CHECK_FALSE(adf::dns::alias_target(*answer({"www.example.test. 60 IN A 192.0.2.1"}), *www()));
}

TEST_CASE("parse_message: a message with two TSIG records is refused before libldns sees it") {
    // Header: ID 1, QR, no question, no answer or authority, four additional
    // records claimed; two TSIGs (type 250, class ANY) at the root with no
    // RDATA. libldns counts a TSIG off the additional count as it reads it,
    // so it reads both of these (and would keep only the second).
    const std::vector<uint8_t> wire = {0, 1, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 4,
                                       0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0,
                                       0, 0, 250, 0, 255, 0, 0, 0, 0, 0, 0};
    const auto parsed = adf::dns::parse_message(wire.data(), wire.size());
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.reason() == "malformed answer: it carries 2 TSIG records (RFC 8945 allows one)");
}

TEST_CASE("parse_message: a well-formed answer parses; a cut one is malformed") {
    const std::vector<uint8_t> wire = {0, 1, 0x84, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    const auto parsed = adf::dns::parse_message(wire.data(), wire.size());
    REQUIRE(parsed.ok());
    CHECK(ldns_pkt_id(parsed->get()) == 1);
    const auto cut = adf::dns::parse_message(wire.data(), 7);
    REQUIRE_FALSE(cut.ok());
    CHECK(cut.reason().rfind("malformed answer: ", 0) == 0);
}
