// TSIG through libldns: algorithm names, key checks, and the verification of
// an answer's signature (which must cover the request's MAC).
#include <doctest/doctest.h>

#include <ctime>
#include <string>

#include "ldns_handles.h"
#include "named_server.h"
#include "tsig.h"

using rfc2136::PktPtr;
using rfc2136::TsigKey;
using rfc2136::TsigKeyProblem;

namespace {

PktPtr query_for(const char *name) {
    PktPtr query(ldns_pkt_query_new(ldns_dname_new_frm_str(name), LDNS_RR_TYPE_A,
                                    LDNS_RR_CLASS_IN, 0));
    ldns_pkt_set_id(query.get(), 4242);
    return query;
}

rfc2136::Bytes wire_of(const ldns_pkt *packet) {
    uint8_t *data = nullptr;
    size_t size = 0;
    REQUIRE(ldns_pkt2wire(&data, packet, &size) == LDNS_STATUS_OK);
    rfc2136::Bytes wire(data, data + size);
    std::free(data);
    return wire;
}

PktPtr parse(const rfc2136::Bytes &wire) {
    ldns_pkt *packet = nullptr;
    REQUIRE(ldns_wire2pkt(&packet, wire.data(), wire.size()) == LDNS_STATUS_OK);
    return PktPtr(packet);
}

// The answer to `unsigned_query` as a server holding `server_key` signs it:
// its MAC covers `request_mac`.
rfc2136::Bytes signed_answer(const ldns_pkt *unsigned_query, const TsigKey &server_key,
                             const ldns_rdf *request_mac) {
    PktPtr answer(ldns_pkt_clone(unsigned_query));
    ldns_pkt_set_qr(answer.get(), true);
    ldns_pkt_set_aa(answer.get(), true);
    REQUIRE(ldns_pkt_tsig_sign(answer.get(), server_key.name.c_str(), server_key.secret.c_str(),
                               rfc2136::kTsigFudge,
                               rfc2136::tsig_algorithm_dname(server_key.algorithm)->c_str(),
                               request_mac) == LDNS_STATUS_OK);
    return wire_of(answer.get());
}

}  // namespace

TEST_CASE("algorithm names map to the domain names TSIG puts on the wire") {
    CHECK(rfc2136::tsig_algorithm_dname("hmac-sha256") == "hmac-sha256.");
    CHECK(rfc2136::tsig_algorithm_dname("HMAC-SHA512.") == "hmac-sha512.");
    CHECK(rfc2136::tsig_algorithm_dname("hmac-md5") == "hmac-md5.sig-alg.reg.int.");
    CHECK(rfc2136::tsig_algorithm_dname("hmac-md5.sig-alg.reg.int") == "hmac-md5.sig-alg.reg.int.");
    CHECK_FALSE(rfc2136::tsig_algorithm_dname("sha256"));
    CHECK_FALSE(rfc2136::tsig_algorithm_dname("gss-tsig"));
}

TEST_CASE("key problems name the part of the key that is wrong") {
    const std::string secret = rfc2136_test::random_secret();
    CHECK_FALSE(rfc2136::tsig_key_problem({"ddns-key", "hmac-sha256", secret}));

    auto problem = rfc2136::tsig_key_problem({"ddns-key", "hmac-sha999", secret});
    REQUIRE(problem);
    CHECK(problem->part == TsigKeyProblem::kAlgorithm);
    CHECK(problem->message.find("hmac-sha256") != std::string::npos);

    problem = rfc2136::tsig_key_problem({"ddns-key", "hmac-sha256", "not base64!"});
    REQUIRE(problem);
    CHECK(problem->part == TsigKeyProblem::kSecret);
    CHECK(problem->message.find("base64") != std::string::npos);
    CHECK(problem->message.find("not base64!") == std::string::npos);  // a secret is never shown

    problem = rfc2136::tsig_key_problem({"ddns-key", "hmac-sha256", ""});
    REQUIRE(problem);
    CHECK(problem->part == TsigKeyProblem::kSecret);

    problem = rfc2136::tsig_key_problem({"bad..name", "hmac-sha256", secret});
    REQUIRE(problem);
    CHECK(problem->part == TsigKeyProblem::kName);
}

TEST_CASE("the algorithms libldns signs with pass; hmac-sha224 and hmac-sha384 are refused") {
    const std::string secret = rfc2136_test::random_secret();
    for (const char *algorithm : {"hmac-sha256", "hmac-sha512", "hmac-sha1", "hmac-md5"}) {
        CAPTURE(algorithm);
        const TsigKey key{"ddns-key", algorithm, secret};
        CHECK_FALSE(rfc2136::tsig_key_problem(key));
        const PktPtr query = query_for("www.example.test");
        rfc2136::tsig_sign(query.get(), key);
        CHECK(rfc2136::tsig_request_mac(query.get()) != nullptr);
    }
    for (const char *algorithm : {"hmac-sha224", "hmac-sha384"}) {
        CAPTURE(algorithm);
        const auto problem = rfc2136::tsig_key_problem({"ddns-key", algorithm, secret});
        REQUIRE(problem);
        CHECK(problem->part == TsigKeyProblem::kAlgorithm);
        CHECK(problem->message.find("cannot sign with") != std::string::npos);
    }
}

TEST_CASE("an answer verifies only when signed with our key over our request's MAC") {
    const TsigKey key{"ddns-key", "hmac-sha256", rfc2136_test::random_secret()};
    const PktPtr unsigned_query = query_for("www.example.test");
    PktPtr request(ldns_pkt_clone(unsigned_query.get()));
    rfc2136::tsig_sign(request.get(), key);
    const ldns_rdf *request_mac = rfc2136::tsig_request_mac(request.get());
    REQUIRE(request_mac != nullptr);
    const std::time_t now = std::time(nullptr);

    SUBCASE("signed by the key holder") {
        const rfc2136::Bytes wire = signed_answer(unsigned_query.get(), key, request_mac);
        const PktPtr answer = parse(wire);
        CHECK_FALSE(rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now));
        CHECK(rfc2136::tsig_error(answer.get()) == 0);
    }
    SUBCASE("signed with another secret") {
        TsigKey forger = key;
        forger.secret = rfc2136_test::random_secret();
        const rfc2136::Bytes wire = signed_answer(unsigned_query.get(), forger, request_mac);
        const PktPtr answer = parse(wire);
        const auto problem = rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now);
        REQUIRE(problem);
        CHECK(problem->find("does not verify") != std::string::npos);
    }
    SUBCASE("signed with another key name") {
        TsigKey other = key;
        other.name = "other-key";
        const rfc2136::Bytes wire = signed_answer(unsigned_query.get(), other, request_mac);
        const PktPtr answer = parse(wire);
        const auto problem = rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now);
        REQUIRE(problem);
        CHECK(problem->find("other-key") != std::string::npos);
    }
    SUBCASE("replayed: signed over another request's MAC") {
        PktPtr earlier(ldns_pkt_clone(unsigned_query.get()));
        rfc2136::tsig_sign(earlier.get(), TsigKey{key.name, key.algorithm,
                                                  rfc2136_test::random_secret()});
        const rfc2136::Bytes wire =
            signed_answer(unsigned_query.get(), key, rfc2136::tsig_request_mac(earlier.get()));
        const PktPtr answer = parse(wire);
        CHECK(rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now));
    }
    SUBCASE("not signed at all") {
        PktPtr bare(ldns_pkt_clone(unsigned_query.get()));
        ldns_pkt_set_qr(bare.get(), true);
        const rfc2136::Bytes wire = wire_of(bare.get());
        const PktPtr answer = parse(wire);
        const auto problem = rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now);
        REQUIRE(problem);
        CHECK(problem->find("not signed") != std::string::npos);
    }
    SUBCASE("signed far from our clock") {
        const rfc2136::Bytes wire = signed_answer(unsigned_query.get(), key, request_mac);
        const PktPtr answer = parse(wire);
        const auto problem =
            rfc2136::tsig_answer_problem(answer.get(), wire, key, request_mac, now + 1000);
        REQUIRE(problem);
        CHECK(problem->find("clock") != std::string::npos);
    }
}

TEST_CASE("TSIG error codes have their RFC 8945 names") {
    CHECK(rfc2136::tsig_error_name(16) == "BADSIG");
    CHECK(rfc2136::tsig_error_name(17) == "BADKEY");
    CHECK(rfc2136::tsig_error_name(18) == "BADTIME");
    CHECK(rfc2136::tsig_error_name(99) == "TSIG error 99");
}
