// Optional C++17 helper for readers of DNS answers (the rfc2136 plugin and
// the core's reads over plain DNS): the A or AAAA records of one name in the
// answer to a query for them, read strictly, as plugin.h's adf_dns_ops.read
// asks. Header-only and outside the ABI, pure (no I/O); link libldns.
//
// The answer section of an answer to "NAME A IN" holds NAME's A records and
// nothing else: a record of another name, type or class is an error, never
// skipped, so that an answer built for another question (or by a broken
// server) is never read as a shorter or empty set. The one exception is
// DNSSEC: RRSIGs over the set are left out. A CNAME at the name is an error
// the caller reports in its own words first (alias_target()).
//
//   if (auto target = adf::dns::alias_target(*packet, *name)) fail("a CNAME to " + *target);
//   adf::Result<std::vector<adf::dns::AnswerRecord>> records =
//       adf::dns::address_records(*packet, *name, LDNS_RR_TYPE_A);
#ifndef AUTODNSFAILOVER_DNS_ANSWER_HPP
#define AUTODNSFAILOVER_DNS_ANSWER_HPP

#include <arpa/inet.h>
// The standard headers before libldns's (see ldns.hpp).
#include <memory>

#include <ldns/ldns.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ldns.hpp"
#include "result.hpp"

namespace adf::dns {

namespace detail {

// The TSIG records libldns's ldns_wire2pkt() would take from the additional
// section (it keeps the last one and leaks the others), read
// record by record with the same libldns function and in the same order (it
// stops at the first fault, as ldns_wire2pkt() does, and an additional
// section's TSIG shortens the count it reads, as there).
inline size_t tsig_record_count(const uint8_t *wire, size_t size) {
    if (size < 12) return 0;
    const auto u16 = [&](size_t at) { return static_cast<size_t>(wire[at] << 8 | wire[at + 1]); };
    size_t pos = 12, tsigs = 0;
    const auto read = [&](ldns_pkt_section section, size_t &count) {
        for (size_t i = 0; i < count; ++i) {
            ldns_rr *raw = nullptr;
            if (ldns_wire2rr(&raw, wire, size, &pos, section) != LDNS_STATUS_OK) return false;
            const adf::ldns::RrPtr rr(raw);
            if (section == LDNS_SECTION_ADDITIONAL &&
                ldns_rr_get_type(rr.get()) == LDNS_RR_TYPE_TSIG) {
                ++tsigs;
                --count;
            }
        }
        return true;
    };
    size_t questions = u16(4), answers = u16(6), authority = u16(8), additional = u16(10);
    if (read(LDNS_SECTION_QUESTION, questions) && read(LDNS_SECTION_ANSWER, answers) &&
        read(LDNS_SECTION_AUTHORITY, authority))
        read(LDNS_SECTION_ADDITIONAL, additional);
    return tsigs;
}

}  // namespace detail

// The DNS message in `wire`, parsed by libldns, or why it cannot be. A
// message with more than one TSIG record is refused before libldns sees it:
// RFC 8945 allows one, and libldns 1.8 keeps the last and leaks the others,
// so a hostile server answering so at every read would cost memory.
inline Result<adf::ldns::PktPtr> parse_message(const uint8_t *wire, size_t size) {
    using Out = Result<adf::ldns::PktPtr>;
    if (const size_t tsigs = detail::tsig_record_count(wire, size); tsigs > 1)
        return Out::failure("malformed answer: it carries " + std::to_string(tsigs) +
                            " TSIG records (RFC 8945 allows one)");
    ldns_pkt *raw = nullptr;
    const ldns_status status = ldns_wire2pkt(&raw, wire, size);
    adf::ldns::PktPtr packet(raw);
    if (status != LDNS_STATUS_OK)
        return Out::failure(std::string("malformed answer: ") + ldns_get_errorstr_by_id(status));
    return packet;
}

struct AnswerRecord {
    std::string address;  // canonical text ("192.0.2.1", "2001:db8::1")
    uint32_t ttl = 0;
};

namespace detail {

// `rdf` as text without the final dot of a name ("www.example.test");
// libldns escapes what is not printable.
inline std::string text_of(const ldns_rdf *rdf) {
    adf::ldns::CharPtr text(rdf ? ldns_rdf2str(rdf) : nullptr);
    std::string out = text ? text.get() : "?";
    if (out.size() > 1 && out.back() == '.') out.pop_back();
    return out;
}

inline std::string type_name(ldns_rr_type type) {
    adf::ldns::CharPtr text(ldns_rr_type2str(type));
    return text ? text.get() : "TYPE" + std::to_string(static_cast<int>(type));
}

inline std::string class_name(ldns_rr_class klass) {
    adf::ldns::CharPtr text(ldns_rr_class2str(klass));
    return text ? text.get() : "CLASS" + std::to_string(static_cast<int>(klass));
}

// The canonical address in an A or AAAA record's one rdata field, or
// nothing when its shape is not that of such a field.
inline std::optional<std::string> address_of(const ldns_rr *rr, ldns_rr_type type) {
    const bool six = type == LDNS_RR_TYPE_AAAA;
    if (ldns_rr_rd_count(rr) != 1) return std::nullopt;
    const ldns_rdf *rdata = ldns_rr_rdf(rr, 0);
    if (rdata == nullptr || ldns_rdf_get_type(rdata) != (six ? LDNS_RDF_TYPE_AAAA : LDNS_RDF_TYPE_A) ||
        ldns_rdf_size(rdata) != (six ? 16u : 4u))
        return std::nullopt;
    char text[INET6_ADDRSTRLEN];
    if (inet_ntop(six ? AF_INET6 : AF_INET, ldns_rdf_data(rdata), text, sizeof text) == nullptr)
        return std::nullopt;
    return std::string(text);
}

// Whether `rr` is a DNSSEC signature of the set of `name` and `type`.
inline bool signs_the_set(const ldns_rr *rr, const ldns_rdf &name, ldns_rr_type type) {
    if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_RRSIG || ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
        ldns_dname_compare(ldns_rr_owner(rr), &name) != 0)
        return false;
    const ldns_rdf *covered = ldns_rr_rrsig_typecovered(rr);
    return covered != nullptr && ldns_rdf2rr_type(covered) == type;
}

}  // namespace detail

// The target of a CNAME at `name` in the answer section, or nothing.
inline std::optional<std::string> alias_target(const ldns_pkt &answer, const ldns_rdf &name) {
    const ldns_rr_list *section = ldns_pkt_answer(&answer);
    for (size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
        const ldns_rr *rr = ldns_rr_list_rr(section, i);
        if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_CNAME &&
            ldns_dname_compare(ldns_rr_owner(rr), &name) == 0)
            return detail::text_of(ldns_rr_rdf(rr, 0));
    }
    return std::nullopt;
}

// The records of `name` and `type` (LDNS_RR_TYPE_A or _AAAA) in the answer
// section of `answer`, in their order (an empty section: no records). A
// record of another name, type or class there, or one whose data is not an
// address, fails the read naming it; RRSIGs over the set are left out. The
// caller has checked the header (ID, question, RCODE, AA bit).
inline Result<std::vector<AnswerRecord>> address_records(const ldns_pkt &answer,
                                                         const ldns_rdf &name, ldns_rr_type type) {
    using Out = Result<std::vector<AnswerRecord>>;
    const std::string asked = detail::text_of(&name) + " " + detail::type_name(type);
    std::vector<AnswerRecord> records;
    const ldns_rr_list *section = ldns_pkt_answer(&answer);
    for (size_t i = 0; i < ldns_rr_list_rr_count(section); ++i) {
        const ldns_rr *rr = ldns_rr_list_rr(section, i);
        if (detail::signs_the_set(rr, name, type)) continue;
        const bool ours = ldns_dname_compare(ldns_rr_owner(rr), &name) == 0 &&
                          ldns_rr_get_type(rr) == type &&
                          ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN;
        if (!ours)
            return Out::failure("the answer holds a record of " +
                                detail::text_of(ldns_rr_owner(rr)) + " " +
                                detail::class_name(ldns_rr_get_class(rr)) + " " +
                                detail::type_name(ldns_rr_get_type(rr)) + ", where only " +
                                asked + " IN records belong");
        const std::optional<std::string> address = detail::address_of(rr, type);
        if (!address)
            return Out::failure("the answer holds a " + detail::type_name(type) +
                                " record of " + detail::text_of(&name) +
                                " whose data is not an address");
        records.push_back({*address, ldns_rr_ttl(rr)});
    }
    return records;
}

}  // namespace adf::dns

#endif  // AUTODNSFAILOVER_DNS_ANSWER_HPP
