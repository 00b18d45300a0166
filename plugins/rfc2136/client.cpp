#include "client.h"

#include <algorithm>
#include <ctime>
#include <utility>

namespace rfc2136 {

namespace {

ldns_rr_type type_of(int family) {
    return family == ADF_FAMILY_IPV6 ? LDNS_RR_TYPE_AAAA : LDNS_RR_TYPE_A;
}

std::string rcode_name(int rcode) {
    const ldns_lookup_table *entry = ldns_lookup_by_id(ldns_rcodes, rcode);
    return entry != nullptr ? entry->name : "RCODE " + std::to_string(rcode);
}

std::string set_text(const std::vector<adf::Record> &records) {
    if (records.empty()) return "empty";
    std::string text = "{";
    for (size_t i = 0; i < records.size(); ++i) text += (i ? ", " : "") + records[i].address;
    return text + "}";
}

bool holds(const std::vector<adf::Record> &records, const std::string &address) {
    return std::any_of(records.begin(), records.end(),
                       [&](const adf::Record &r) { return r.address == address; });
}

std::string without_final_dot(std::string name) {
    if (!name.empty() && name.back() == '.') name.pop_back();
    return name;
}

// One record of the set: class IN, or NONE (with TTL 0) to delete it.
RrPtr address_rr(const ldns_rdf *name, int family, ldns_rr_class klass, uint32_t ttl,
                 const std::string &address) {
    const ldns_rdf_type rdf_type = family == ADF_FAMILY_IPV6 ? LDNS_RDF_TYPE_AAAA
                                                             : LDNS_RDF_TYPE_A;
    ldns_rdf *rdata = ldns_rdf_new_frm_str(rdf_type, address.c_str());
    if (rdata == nullptr)
        throw adf::Error(ADF_FAILED, "\"" + address + "\" is not an IPv" +
                                         std::to_string(family) + " address");
    RrPtr rr(ldns_rr_new());
    ldns_rr_set_owner(rr.get(), ldns_rdf_clone(name));
    ldns_rr_set_type(rr.get(), type_of(family));
    ldns_rr_set_class(rr.get(), klass);
    ldns_rr_set_ttl(rr.get(), ttl);
    ldns_rr_push_rdf(rr.get(), rdata);
    return rr;
}

// Prerequisite "RRset does not exist" (RFC 2136 2.4.3): class NONE, no data.
RrListPtr set_absent(const ldns_rdf *name, int family) {
    RrPtr rr(ldns_rr_new());
    ldns_rr_set_owner(rr.get(), ldns_rdf_clone(name));
    ldns_rr_set_type(rr.get(), type_of(family));
    ldns_rr_set_class(rr.get(), LDNS_RR_CLASS_NONE);
    ldns_rr_set_ttl(rr.get(), 0);
    RrListPtr list(ldns_rr_list_new());
    ldns_rr_list_push_rr(list.get(), rr.release());
    return list;
}

// Prerequisite "RRset exists (value dependent)" (RFC 2136 2.4.2): the whole
// set with TTL 0; the server compares it as a set.
RrListPtr set_equals(const ldns_rdf *name, int family, const std::vector<adf::Record> &records) {
    RrListPtr list(ldns_rr_list_new());
    for (const adf::Record &record : records)
        ldns_rr_list_push_rr(list.get(),
                             address_rr(name, family, LDNS_RR_CLASS_IN, 0, record.address).release());
    return list;
}

RrListPtr list_of(RrPtr rr) {
    RrListPtr list(ldns_rr_list_new());
    ldns_rr_list_push_rr(list.get(), rr.release());
    return list;
}

Bytes wire_of(const ldns_pkt *packet) {
    uint8_t *data = nullptr;
    size_t size = 0;
    const ldns_status status = ldns_pkt2wire(&data, packet, &size);
    std::unique_ptr<uint8_t, MallocFree> owned(data);
    if (status != LDNS_STATUS_OK)
        throw adf::Error(ADF_FAILED, std::string("cannot build the DNS message: ") +
                                         ldns_get_errorstr_by_id(status));
    return Bytes(data, data + size);
}

PktPtr parse(const Bytes &wire) {
    adf::Result<PktPtr> packet = adf::dns::parse_message(wire.data(), wire.size());
    return packet ? std::move(*packet) : nullptr;
}

// Is `answer` the reply to `request`: same ID and opcode, QR set, and the
// same question when it repeats one?
bool answers(const ldns_pkt *answer, const ldns_pkt *request) {
    if (ldns_pkt_id(answer) != ldns_pkt_id(request) || !ldns_pkt_qr(answer) ||
        ldns_pkt_get_opcode(answer) != ldns_pkt_get_opcode(request))
        return false;
    const ldns_rr_list *asked = ldns_pkt_question(request);
    const ldns_rr_list *echoed = ldns_pkt_question(answer);
    if (ldns_rr_list_rr_count(echoed) == 0) return true;
    if (ldns_rr_list_rr_count(echoed) != ldns_rr_list_rr_count(asked)) return false;
    const ldns_rr *a = ldns_rr_list_rr(asked, 0);
    const ldns_rr *e = ldns_rr_list_rr(echoed, 0);
    return ldns_dname_compare(ldns_rr_owner(a), ldns_rr_owner(e)) == 0 &&
           ldns_rr_get_type(a) == ldns_rr_get_type(e) &&
           ldns_rr_get_class(a) == ldns_rr_get_class(e);
}

}  // namespace

Client::Client(ClientOptions options)
    : options_(std::move(options)),
      server_(options_.server.text()),
      random_(std::random_device{}()) {
    zone_.reset(ldns_dname_new_frm_str(options_.zone.c_str()));
    if (!zone_)
        throw adf::Error(ADF_BAD_CONFIG, "\"" + options_.zone + "\" is not a valid domain name");
}

// A lost query is simply asked again; a lost update is not: if the first
// copy was applied, the second would fail its prerequisite and look like a
// conflict.
double Client::resend_every(Operation operation) const {
    return operation == Operation::kRead ? options_.timeout / 3 : 0.0;
}

uint16_t Client::next_id() {
    return static_cast<uint16_t>(std::uniform_int_distribution<unsigned>(0, 0xffff)(random_));
}

std::optional<std::string> Client::zone_problem(const std::string &fqdn) const {
    RdfPtr name(ldns_dname_new_frm_str(fqdn.c_str()));
    if (!name) return "\"" + fqdn + "\" is not a valid domain name";
    if (ldns_dname_compare(name.get(), zone_.get()) != 0 &&
        !ldns_dname_is_subdomain(name.get(), zone_.get()))
        return without_final_dot(fqdn) + " is not in zone " + without_final_dot(options_.zone) +
               " (the dns plugin's \"zone\")";
    return std::nullopt;
}

RdfPtr Client::name_in_zone(const std::string &fqdn) const {
    if (const std::optional<std::string> problem = zone_problem(fqdn))
        throw adf::Error(ADF_FAILED, *problem);
    return RdfPtr(ldns_dname_new_frm_str(fqdn.c_str()));
}

// Carries `message` (the wire form of `sent`) to the server and back.
Bytes Client::transfer(const Bytes &message, const ldns_pkt *sent, bool tcp,
                       adf::dns::Clock::time_point deadline, Operation operation) const {
    const adf::dns::Exchange reply =
        tcp ? adf::dns::tcp_exchange(options_.server, message, deadline)
            : adf::dns::udp_exchange(options_.server, message, deadline, resend_every(operation),
                                     [sent](const Bytes &datagram) {
                                         PktPtr candidate = parse(datagram);
                                         return candidate && answers(candidate.get(), sent);
                                     });
    if (reply.ok()) return reply.answer;
    const adf::dns::Failure &failure = *reply.failure;
    // Only a message too large for DNS itself will fail again: the rest is
    // the network or the server, which may do better next round.
    throw adf::Error(failure.kind == adf::dns::Failure::kTooLarge ? ADF_FAILED : ADF_TRANSIENT,
                     failure.describe(server_));
}

Client::Answer Client::exchange(const ldns_pkt *request, Operation operation,
                                const std::string &fqdn) {
    const auto deadline = adf::dns::Clock::now() +
                          std::chrono::duration_cast<adf::dns::Clock::duration>(
                              std::chrono::duration<double>(options_.timeout));
    bool tcp = options_.tcp;
    for (;;) {
        PktPtr signed_request(ldns_pkt_clone(request));
        if (options_.key) tsig_sign(signed_request.get(), *options_.key);
        const Bytes message = wire_of(signed_request.get());
        if (message.size() > adf::dns::kUdpMessageLimit) tcp = true;
        const ldns_pkt *sent = signed_request.get();
        Bytes wire = transfer(message, sent, tcp, deadline, operation);
        PktPtr answer = parse(wire);
        if (!answer)
            throw adf::Error(ADF_FAILED,
                             server_ + " sent an answer that is not a valid DNS message");
        if (!answers(answer.get(), sent))
            throw adf::Error(ADF_FAILED, server_ +
                                             " sent an answer that does not match the request "
                                             "(another ID or question)");
        if (!tcp && ldns_pkt_tc(answer.get())) {
            tcp = true;  // truncated: ask again over TCP within the same deadline
            continue;
        }
        check_signature(answer.get(), wire, sent, operation, fqdn);
        return {std::move(answer), std::move(wire)};
    }
}

void Client::check_signature(ldns_pkt *answer, const Bytes &wire, const ldns_pkt *signed_request,
                             Operation operation, const std::string &fqdn) const {
    if (!options_.key) return;
    const int rcode = ldns_pkt_get_rcode(answer);
    if (const uint16_t error = tsig_error(answer); error != 0)
        throw answer_error(rcode, error, operation, fqdn);
    // An unsigned error answer is reported as such (it changes nothing); an
    // unsigned success is not trusted.
    if (ldns_pkt_tsig(answer) == nullptr && rcode != LDNS_RCODE_NOERROR &&
        rcode != LDNS_RCODE_NXDOMAIN)
        return;
    if (auto problem = tsig_answer_problem(answer, wire, *options_.key,
                                           tsig_request_mac(signed_request), std::time(nullptr)))
        throw adf::Error(ADF_FAILED, server_ + ": " + *problem +
                                         "; check key_name, key_secret and key_algorithm");
}

adf::Error Client::answer_error(int rcode, uint16_t tsig_error_code, Operation operation,
                                const std::string &fqdn) const {
    const std::string &server = server_;
    const std::string zone = without_final_dot(options_.zone);
    const std::string key = options_.key ? without_final_dot(options_.key->name) : "";
    const std::string algorithm = options_.key ? options_.key->algorithm : "";
    const bool update = operation == Operation::kUpdate;
    const std::string subject = update ? "the update of " + fqdn : "the query for " + fqdn;
    switch (tsig_error_code) {
        case 0: break;
        case 16:
            return adf::Error(ADF_FAILED,
                              server + " rejected the TSIG signature of " + subject +
                                  " (BADSIG): key_secret is not the server's secret of key " +
                                  key + "; check key_name, key_secret and key_algorithm");
        case 17:
            return adf::Error(ADF_FAILED, server + " does not know TSIG key " + key +
                                              " with algorithm " + algorithm +
                                              " (BADKEY); check key_name, key_algorithm and "
                                              "key_secret");
        case 18:
            return adf::Error(ADF_FAILED,
                              server + " rejected the time of the TSIG signature (BADTIME): the "
                                       "clocks of this host and the server differ by more "
                                       "than " + std::to_string(kTsigFudge) +
                                  " s; check both clocks (NTP), then key_name and key_secret");
        default:
            return adf::Error(ADF_FAILED, server + " rejected the TSIG signature of " + subject +
                                              " (" + tsig_error_name(tsig_error_code) +
                                              "); check key_name, key_secret, key_algorithm and "
                                              "the clock");
    }
    const std::string answered = server + " answered " + rcode_name(rcode) + " to " + subject;
    switch (rcode) {
        case LDNS_RCODE_SERVFAIL:
            return adf::Error(ADF_TRANSIENT, answered + ": the server failed (is zone " + zone +
                                                 " loaded?); trying again later");
        case LDNS_RCODE_REFUSED:
            if (!update)
                return adf::Error(ADF_FAILED, answered + ": it does not serve zone " + zone +
                                                  " to this host (check server, zone and its "
                                                  "allow-query)");
            return adf::Error(
                ADF_FAILED,
                answered + ": it does not allow this update of zone " + zone +
                    (options_.key ? " with key " + key +
                                        " (check its allow-update or ACL, and key_name)"
                                  : " without a TSIG key (set key_name and key_secret, or let "
                                    "this address update the zone)"));
        case LDNS_RCODE_NOTAUTH:
            return adf::Error(
                ADF_FAILED,
                answered + ": it is not authoritative for zone " + zone +
                    (options_.key ? " (check server and zone)"
                                  : ", or it wants a TSIG-signed update and no key is "
                                    "configured (set key_name and key_secret)"));
        case LDNS_RCODE_NOTZONE:
            return adf::Error(ADF_FAILED, answered + ": " + fqdn + " is not in zone " + zone +
                                              " as the server sees it (check zone)");
        case LDNS_RCODE_NXRRSET:
        case LDNS_RCODE_YXRRSET:
            return adf::Error(ADF_CONFLICT,
                              "the record set changed since it was read (" + answered + ")");
        case LDNS_RCODE_NOTIMPL:
            return adf::Error(ADF_FAILED, answered + ": it does not implement " +
                                              (update ? "dynamic updates (RFC 2136)" : "this query"));
        case LDNS_RCODE_FORMERR:
            return adf::Error(ADF_FAILED, answered + ": it could not parse the message");
        default:
            return adf::Error(ADF_FAILED, answered);
    }
}

std::vector<adf::Record> Client::read(const std::string &fqdn, int family) {
    const RdfPtr name = name_in_zone(fqdn);
    const ldns_rr_type type = type_of(family);
    // RD=0: the server must answer from its own data, not recurse.
    PktPtr query(ldns_pkt_query_new(ldns_rdf_clone(name.get()), type, LDNS_RR_CLASS_IN, 0));
    ldns_pkt_set_id(query.get(), next_id());
    const Answer answer = exchange(query.get(), Operation::kRead, fqdn);
    return read_answer(*answer.packet, fqdn, family);
}

std::vector<adf::Record> Client::read_answer(const ldns_pkt &packet, const std::string &fqdn,
                                             int family) const {
    const RdfPtr name = name_in_zone(fqdn);
    const ldns_rr_type type = type_of(family);
    const int rcode = ldns_pkt_get_rcode(&packet);
    if (rcode != LDNS_RCODE_NOERROR && rcode != LDNS_RCODE_NXDOMAIN)
        throw answer_error(rcode, 0, Operation::kRead, fqdn);
    if (!ldns_pkt_aa(&packet))
        throw adf::Error(ADF_FAILED,
                         server_ + " is not authoritative for " + fqdn +
                             " (its answer lacks the AA bit, e.g. a referral to a delegated "
                             "zone): set server to a primary or secondary of the zone that "
                             "holds " + fqdn);
    std::vector<adf::Record> records;
    if (rcode == LDNS_RCODE_NXDOMAIN) return records;
    if (const std::optional<std::string> target = adf::dns::alias_target(packet, *name))
        throw adf::Error(ADF_FAILED, fqdn + " is a CNAME to " + *target + " at " + server_ +
                                         ": manage the name it points to");
    // Strict: the answer holds our set and nothing else (dns_answer.hpp).
    const adf::Result<std::vector<adf::dns::AnswerRecord>> found =
        adf::dns::address_records(packet, *name, type);
    if (!found)
        throw adf::Error(ADF_FAILED, server_ + " answered the query for " + fqdn + " " +
                                         adf::record_type(family) +
                                         " with a malformed answer, nothing is trusted: " +
                                         found.reason());
    for (const adf::dns::AnswerRecord &record : *found)
        records.push_back({record.address, "", record.ttl});
    return records;
}

uint32_t Client::add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     const std::string &address, uint32_t ttl) {
    const RdfPtr name = name_in_zone(fqdn);
    const std::string set = fqdn + " " + adf::record_type(family);
    if (holds(expected, address))
        throw adf::Error(ADF_CONFLICT, set + " already holds " + address);
    // A set shares one TTL: a new record takes the set's own.
    const uint32_t set_ttl =
        !expected.empty() ? expected.front().ttl : ttl != 0 ? ttl : options_.default_ttl;
    RrListPtr prerequisites =
        expected.empty() ? set_absent(name.get(), family) : set_equals(name.get(), family, expected);
    RrListPtr updates = list_of(address_rr(name.get(), family, LDNS_RR_CLASS_IN, set_ttl, address));
    send_update(fqdn, family, expected, std::move(prerequisites), std::move(updates));
    return set_ttl;
}

void Client::remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                    const std::vector<std::string> &addresses) {
    const RdfPtr name = name_in_zone(fqdn);
    const std::string set = fqdn + " " + adf::record_type(family);
    for (const std::string &address : addresses)
        if (!holds(expected, address))
            throw adf::Error(ADF_CONFLICT, set + " does not hold " + address +
                                               " (it was read as " + set_text(expected) + ")");
    if (expected.size() <= addresses.size())
        throw adf::Error(ADF_FAILED, "refusing to remove " +
                                         (addresses.size() == 1 ? addresses.front()
                                                                : "every record") +
                                         ", the last record of " + set +
                                         ": a pool is never emptied");
    // The prerequisite holds the whole set, larger than what goes, so the
    // server never empties it either, whatever happened since the read. All
    // deletions travel in one update: the server applies all or none.
    RrListPtr prerequisites = set_equals(name.get(), family, expected);
    RrListPtr updates(ldns_rr_list_new());
    for (const std::string &address : addresses)
        ldns_rr_list_push_rr(updates.get(),
                             address_rr(name.get(), family, LDNS_RR_CLASS_NONE, 0, address).release());
    send_update(fqdn, family, expected, std::move(prerequisites), std::move(updates));
}

void Client::send_update(const std::string &fqdn, int family,
                         const std::vector<adf::Record> &expected, RrListPtr prerequisites,
                         RrListPtr updates) {
    PktPtr update(ldns_update_pkt_new(ldns_rdf_clone(zone_.get()), LDNS_RR_CLASS_IN,
                                      prerequisites.get(), updates.get(), nullptr));
    if (!update) throw adf::Error(ADF_FAILED, "cannot build the update message");
    ldns_pkt_set_rd(update.get(), false);  // the header's Z bits in an update (RFC 2136 2.2)
    ldns_pkt_set_id(update.get(), next_id());
    const Answer answer = exchange(update.get(), Operation::kUpdate, fqdn);
    const int rcode = ldns_pkt_get_rcode(answer.packet.get());
    if (rcode == LDNS_RCODE_NOERROR) return;
    const std::string set = fqdn + " " + adf::record_type(family);
    if (rcode == LDNS_RCODE_NXRRSET || rcode == LDNS_RCODE_YXRRSET)
        throw adf::Error(ADF_CONFLICT,
                         "the record set changed since it was read: " + server_ +
                             " answered " + rcode_name(rcode) + ", " + set +
                             (expected.empty() ? " exists now (it was empty)"
                                               : " is no longer " + set_text(expected)) +
                             "; nothing was changed");
    throw answer_error(rcode, 0, Operation::kUpdate, fqdn);
}

}  // namespace rfc2136
