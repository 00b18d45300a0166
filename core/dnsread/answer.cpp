#include "dnsread/answer.h"

#include <autodnsfailover/dns_answer.hpp>

#include <algorithm>
#include <cstdlib>
#include <optional>

#include <fmt/format.h>

namespace adf::dnsread {
namespace {

using adf::ldns::PktPtr;

std::string text_of(const ldns_rdf *rdf) {
    adf::ldns::CharPtr text(ldns_rdf2str(rdf));
    return text ? text.get() : "?";
}

std::string rcode_name(ldns_pkt_rcode rcode) {
    const ldns_lookup_table *entry = ldns_lookup_by_id(ldns_rcodes, rcode);
    return entry ? entry->name : fmt::format("rcode {}", int(rcode));
}

std::string not_authoritative(const ldns_pkt &answer) {
    const bool referral = ldns_pkt_ancount(&answer) == 0 &&
                          ldns_rr_list_type(ldns_pkt_authority(&answer)) == LDNS_RR_TYPE_NS;
    return referral ? "the answer is not authoritative (AA bit clear): a referral, the "
                      "name is in a zone delegated to other servers"
                    : "the answer is not authoritative (AA bit clear): the server does not "
                      "serve this zone itself";
}

}  // namespace

Attempt attempt(Attempt::Kind kind, std::string reason) { return Attempt{kind, {}, reason}; }

Query::Query(const ldns_rdf &name, ldns_rr_type type)
    : name_(ldns_rdf_clone(&name)), type_(type) {
    // Flags 0: RD clear, a non-recursive question for the server's own data.
    PktPtr packet(ldns_pkt_query_new(ldns_rdf_clone(&name), type, LDNS_RR_CLASS_IN, 0));
    if (!packet) return;
    ldns_pkt_set_random_id(packet.get());
    id_ = ldns_pkt_id(packet.get());
    uint8_t *wire = nullptr;
    size_t size = 0;
    if (ldns_pkt2wire(&wire, packet.get(), &size) == LDNS_STATUS_OK)
        wire_.assign(wire, wire + size);
    std::free(wire);
}

PktPtr Query::response(const std::vector<uint8_t> &bytes, std::string *why) const {
    adf::Result<PktPtr> parsed = adf::dns::parse_message(bytes.data(), bytes.size());
    if (!parsed) {
        if (why) *why = parsed.reason();
        return nullptr;
    }
    PktPtr packet = std::move(*parsed);
    if (ldns_pkt_id(packet.get()) != id_ || !ldns_pkt_qr(packet.get())) {
        if (why) *why = "the answer does not carry our query's ID";
        return nullptr;
    }
    return packet;
}

Attempt Query::judge(const ldns_pkt &answer) const {
    if (!asks_our_question(answer))
        return attempt(Attempt::Lasting, "the answer is for another question");
    const ldns_pkt_rcode rcode = ldns_pkt_get_rcode(&answer);
    if (rcode == LDNS_RCODE_SERVFAIL)
        return attempt(Attempt::Transient, "SERVFAIL (the server cannot answer for the "
                                           "zone right now)");
    if (rcode == LDNS_RCODE_REFUSED)
        return attempt(Attempt::Lasting, "REFUSED (the server does not serve this zone "
                                         "to us)");
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
        return attempt(Attempt::Lasting, fmt::format("answered {}", rcode_name(rcode)));
    if (!ldns_pkt_aa(&answer)) return attempt(Attempt::Lasting, not_authoritative(answer));
    if (rcode == LDNS_RCODE_NXDOMAIN) return Attempt{Attempt::Answer, {}, {}};
    return records_of(answer);
}

bool Query::asks_our_question(const ldns_pkt &answer) const {
    const ldns_rr_list *question = ldns_pkt_question(&answer);
    if (ldns_rr_list_rr_count(question) != 1) return false;
    const ldns_rr *q = ldns_rr_list_rr(question, 0);
    return ldns_dname_compare(ldns_rr_owner(q), name_.get()) == 0 && ldns_rr_get_type(q) == type_ &&
           ldns_rr_get_class(q) == LDNS_RR_CLASS_IN;
}

Attempt Query::records_of(const ldns_pkt &answer) const {
    const int family = type_ == LDNS_RR_TYPE_AAAA ? 6 : 4;
    if (const std::optional<std::string> target = adf::dns::alias_target(answer, *name_))
        return attempt(Attempt::NameError,
                       fmt::format("{} is an alias (CNAME) of {}.: the pool's records "
                                   "must be at the name itself, no CNAME is followed",
                                   text_of(name_.get()), *target));
    const Result<std::vector<adf::dns::AnswerRecord>> found =
        adf::dns::address_records(answer, *name_, type_);
    if (!found)
        return attempt(Attempt::Lasting,
                       fmt::format("a malformed answer, nothing is trusted: {}", found.reason()));
    Attempt result{Attempt::Answer, {}, {}};
    for (const adf::dns::AnswerRecord &record : *found) {
        const auto address = parse_address(record.address, family);
        if (!address)
            return attempt(Attempt::Lasting,
                           fmt::format("malformed {} record in the answer", record_type(family)));
        result.records.push_back({*address, record.ttl, {}});
    }
    auto by_address = [](const plugin::ReadRecord &a, const plugin::ReadRecord &b) {
        return a.address < b.address;
    };
    auto same_address = [](const plugin::ReadRecord &a, const plugin::ReadRecord &b) {
        return a.address == b.address;
    };
    std::sort(result.records.begin(), result.records.end(), by_address);
    result.records.erase(
        std::unique(result.records.begin(), result.records.end(), same_address),
        result.records.end());
    return result;
}

}  // namespace adf::dnsread
