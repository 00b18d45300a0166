#include "dnsread/direct_reader.h"

#include <autodnsfailover/ldns.hpp>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include <fmt/format.h>

#include "dnsread/answer.h"
#include "dnsread/transport.h"
#include "logging/log.h"

namespace adf::dnsread {
namespace {

using plugin::ReadRecord;

using adf::ldns::PktPtr;
using RdfPtr = adf::ldns::RdfPtr;

// Asks one server: UDP (TCP when the answer is truncated), or TCP only.
Attempt ask(const Query &query, const Server &server, const config::ReadFrom &options) {
    std::string why;
    Exchange exchange;
    if (!options.tcp) {
        exchange = exchange_udp(server, query.wire(),
                                [&](const auto &bytes) { return query.response(bytes) != nullptr; },
                                options.timeout);
        if (!exchange.ok()) return attempt(Attempt::Transient, exchange.error);
        PktPtr answer = query.response(exchange.answer, &why);
        if (!answer) return attempt(Attempt::Lasting, why);
        if (!ldns_pkt_tc(answer.get())) return query.judge(*answer);
    }
    exchange = exchange_tcp(server, query.wire(), options.timeout);
    if (!exchange.ok()) return attempt(Attempt::Transient, exchange.error);
    PktPtr answer = query.response(exchange.answer, &why);
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
        const log::Fields fields{fqdn, "", "", fmt::format("{}", fmt::join(failures, "; ")),
                                 failures.empty() ? "dns_servers_read" : "dns_servers_failover",
                                 family};
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
