// One question of a read over DNS (read_from), and what a server's answer to
// it means. Pure: builds and judges messages with libldns, no I/O, so unit
// tests and the fuzzer (tests/fuzz/fuzz_dns_answer.cpp) give it any bytes.
#pragma once

#include <autodnsfailover/ldns.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "plugin/kinds.h"

namespace adf::dnsread {

// What one server's answer means for the read.
struct Attempt {
    enum Kind {
        Answer,     // authoritative: `records` is the set (maybe empty)
        NameError,  // authoritative, but unusable (a CNAME): the read fails
        Transient,  // try the next server; asking again later may work
        Lasting,    // try the next server; this one will say the same again
    };
    Kind kind = Transient;
    std::vector<plugin::ReadRecord> records;  // sorted numerically, no duplicates
    std::string reason;
};

Attempt attempt(Attempt::Kind kind, std::string reason);

// One non-recursive question for one name and type (A or AAAA, class IN).
class Query {
   public:
    Query(const ldns_rdf &name, ldns_rr_type type);

    bool valid() const { return name_ && !wire_.empty(); }
    const std::vector<uint8_t> &wire() const { return wire_; }
    uint16_t id() const { return id_; }

    // `bytes` parsed as a response to this query (same ID, QR set), or
    // nothing, with `why` when given.
    adf::ldns::PktPtr response(const std::vector<uint8_t> &bytes, std::string *why = nullptr) const;

    // What a response means: the RRset of our name and type from an
    // authoritative NOERROR answer, read strictly (anything else in the
    // answer section makes it unusable, never a shorter set); an empty set
    // for NODATA and NXDOMAIN; else why this server's answer is not used.
    Attempt judge(const ldns_pkt &answer) const;

   private:
    bool asks_our_question(const ldns_pkt &answer) const;
    Attempt records_of(const ldns_pkt &answer) const;

    adf::ldns::RdfPtr name_;
    ldns_rr_type type_;
    uint16_t id_ = 0;
    std::vector<uint8_t> wire_;
};

}  // namespace adf::dnsread
