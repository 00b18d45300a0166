#include "dnsread/direct_reader.h"

#include <autodnsfailover/dns_answer.hpp>
#include <autodnsfailover/ldns.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "dnsread/transport.h"
#include "logging/log.h"

namespace adf::dnsread {
namespace {

using plugin::ReadRecord;

using PacketPtr = adf::ldns::PktPtr;
using RdfPtr = adf::ldns::RdfPtr;
using TextPtr = adf::ldns::CharPtr;

// What one server's answer means for the read.
struct Attempt {
    enum Kind {
        Answer,     // authoritative: `records` is the set (maybe empty)
        NameError,  // authoritative, but unusable (a CNAME): the read fails
        Transient,  // try the next server; asking again later may work
        Lasting,    // try the next server; this one will say the same again
    };
    Kind kind = Transient;
    std::vector<ReadRecord> records;
    std::string reason;
};

Attempt attempt(Attempt::Kind kind, std::string reason) { return Attempt{kind, {}, reason}; }

std::string text_of(const ldns_rdf *rdf) {
    TextPtr text(ldns_rdf2str(rdf));
    return text ? text.get() : "?";
}

std::string rcode_name(ldns_pkt_rcode rcode) {
    const ldns_lookup_table *entry = ldns_lookup_by_id(ldns_rcodes, rcode);
    return entry ? entry->name : fmt::format("rcode {}", int(rcode));
}

// One question for one name and type, built and parsed with libldns.
class Query {
   public:
    Query(const ldns_rdf &name, ldns_rr_type type)
        : name_(ldns_rdf_clone(&name)), type_(type) {
        // Flags 0: RD clear, a non-recursive question for the server's own data.
        PacketPtr packet(ldns_pkt_query_new(ldns_rdf_clone(&name), type, LDNS_RR_CLASS_IN, 0));
        if (!packet) return;
        ldns_pkt_set_random_id(packet.get());
        id_ = ldns_pkt_id(packet.get());
        uint8_t *wire = nullptr;
        size_t size = 0;
        if (ldns_pkt2wire(&wire, packet.get(), &size) == LDNS_STATUS_OK)
            wire_.assign(wire, wire + size);
        std::free(wire);
    }

    bool valid() const { return name_ && !wire_.empty(); }
    const std::vector<uint8_t> &wire() const { return wire_; }

    // A response to this query (same ID, QR set), or nothing.
    PacketPtr response(const std::vector<uint8_t> &bytes, std::string *why = nullptr) const {
        ldns_pkt *raw = nullptr;
        const ldns_status status = ldns_wire2pkt(&raw, bytes.data(), bytes.size());
        PacketPtr packet(raw);
        if (status != LDNS_STATUS_OK) {
            if (why) *why = fmt::format("malformed answer: {}", ldns_get_errorstr_by_id(status));
            return nullptr;
        }
        if (ldns_pkt_id(packet.get()) != id_ || !ldns_pkt_qr(packet.get())) {
            if (why) *why = "the answer does not carry our query's ID";
            return nullptr;
        }
        return packet;
    }

    Attempt judge(const ldns_pkt &answer) const {
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
        if (!ldns_pkt_aa(&answer))
            return attempt(Attempt::Lasting, not_authoritative(answer));
        if (rcode == LDNS_RCODE_NXDOMAIN) return Attempt{Attempt::Answer, {}, {}};
        return records_of(answer);
    }

   private:
    bool asks_our_question(const ldns_pkt &answer) const {
        const ldns_rr_list *question = ldns_pkt_question(&answer);
        if (ldns_rr_list_rr_count(question) != 1) return false;
        const ldns_rr *q = ldns_rr_list_rr(question, 0);
        return ldns_dname_compare(ldns_rr_owner(q), name_.get()) == 0 &&
               ldns_rr_get_type(q) == type_ && ldns_rr_get_class(q) == LDNS_RR_CLASS_IN;
    }

    static std::string not_authoritative(const ldns_pkt &answer) {
        const bool referral = ldns_pkt_ancount(&answer) == 0 &&
                              ldns_rr_list_type(ldns_pkt_authority(&answer)) == LDNS_RR_TYPE_NS;
        return referral ? "the answer is not authoritative (AA bit clear): a referral, the "
                          "name is in a zone delegated to other servers"
                        : "the answer is not authoritative (AA bit clear): the server does not "
                          "serve this zone itself";
    }

    // The RRset of our name and type from an authoritative NOERROR answer,
    // read strictly (dns_answer.hpp): anything else in the answer section
    // makes this server's answer unusable, never a shorter set.
    Attempt records_of(const ldns_pkt &answer) const {
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
                return attempt(Attempt::Lasting, fmt::format("malformed {} record in the answer",
                                                             record_type(family)));
            result.records.push_back({*address, record.ttl, {}});
        }
        auto by_address = [](const ReadRecord &a, const ReadRecord &b) {
            return a.address < b.address;
        };
        std::sort(result.records.begin(), result.records.end(), by_address);
        result.records.erase(std::unique(result.records.begin(), result.records.end(),
                                         [](const ReadRecord &a, const ReadRecord &b) {
                                             return a.address == b.address;
                                         }),
                             result.records.end());
        return result;
    }

    RdfPtr name_;
    ldns_rr_type type_;
    uint16_t id_ = 0;
    std::vector<uint8_t> wire_;
};

// Asks one server: UDP (TCP when the answer is truncated), or TCP only.
Attempt ask(const Query &query, const Server &server, const config::ReadFrom &options) {
    std::string why;
    Exchange exchange;
    if (!options.tcp) {
        exchange = exchange_udp(server, query.wire(),
                                [&](const auto &bytes) { return query.response(bytes) != nullptr; },
                                options.timeout);
        if (!exchange.ok()) return attempt(Attempt::Transient, exchange.error);
        PacketPtr answer = query.response(exchange.answer, &why);
        if (!answer) return attempt(Attempt::Lasting, why);
        if (!ldns_pkt_tc(answer.get())) return query.judge(*answer);
    }
    exchange = exchange_tcp(server, query.wire(), options.timeout);
    if (!exchange.ok()) return attempt(Attempt::Transient, exchange.error);
    PacketPtr answer = query.response(exchange.answer, &why);
    if (!answer) return attempt(Attempt::Lasting, why);
    if (ldns_pkt_tc(answer.get()))
        return attempt(Attempt::Lasting, "the answer is truncated even over TCP");
    return query.judge(*answer);
}

std::string failed_at(const Server &server, const std::string &reason) {
    return fmt::format("read over DNS from {} failed: {}", server.text(), reason);
}

std::string list_addresses(const std::vector<ReadRecord> &records) {
    std::string out;
    for (const auto &r : records) out += (out.empty() ? "" : ", ") + r.address.text();
    return out.empty() ? "(none)" : out;
}

}  // namespace

std::string describe(const config::ReadFrom &options) {
    std::vector<std::string> servers;
    for (const Server &server : options.servers) servers.push_back(server.text());
    return fmt::format("{} ({}; timeout {:g} s per query)", fmt::join(servers, ", "),
                       options.tcp ? "TCP" : "UDP, TCP when truncated", options.timeout);
}

plugin::DnsBackend::Read DirectReader::read(const std::string &fqdn, int family) const {
    plugin::DnsBackend::Read result;
    const ldns_rr_type type = family == 6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
    RdfPtr name(ldns_dname_new_frm_str((fqdn + ".").c_str()));
    if (!name) {
        result.status = ADF_FAILED;
        result.error = fmt::format("read over DNS failed: \"{}\" is not a valid domain name", fqdn);
        return result;
    }
    std::vector<std::string> failures;
    bool transient = false;
    for (const Server &server : options_.servers) {
        const Query query(*name, type);
        if (!query.valid()) {
            result.status = ADF_FAILED;
            result.error = fmt::format("read over DNS failed: libldns cannot build a query for {}",
                                       fqdn);
            return result;
        }
        Attempt answer = ask(query, server, options_);
        if (answer.kind == Attempt::NameError) {
            failures.push_back(failed_at(server, answer.reason));
            result.status = ADF_FAILED;
            result.error = fmt::format("{}", fmt::join(failures, "; "));
            return result;
        }
        if (answer.kind != Attempt::Answer) {
            transient = transient || answer.kind == Attempt::Transient;
            failures.push_back(failed_at(server, answer.reason));
            continue;
        }
        const log::Fields fields{fqdn, "", "", fmt::format("{}", fmt::join(failures, "; "))};
        if (!failures.empty())
            log::warning(fmt::format("read the {} records over DNS from {} after {} other "
                                     "server(s) failed", record_type(family), server.text(),
                                     failures.size()), fields);
        log::debug(fmt::format("read {} {} record(s) over DNS from {}: {}", answer.records.size(),
                               record_type(family), server.text(),
                               list_addresses(answer.records)), fields);
        result.records = std::move(answer.records);
        return result;
    }
    result.status = transient ? ADF_TRANSIENT : ADF_FAILED;
    result.error = fmt::format("{}", fmt::join(failures, "; "));
    return result;
}

}  // namespace adf::dnsread
