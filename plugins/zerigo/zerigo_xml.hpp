// The Zerigo DNS API 1.1 documents the plugin reads, read strictly: the
// hosts of one name and type (GET hosts.xml?fqdn=NAME) and a zone (GET
// zones/DOMAIN.xml), or the reason the answer cannot be trusted. Pure (no
// network, no host services), so unit tests and fuzzers call them with any
// text.
#pragma once

#include <autodnsfailover/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zerigo {

// One host record of Zerigo, reduced to what the daemon manages.
struct Host {
    long id = 0;
    std::string data;              // as Zerigo stores it
    std::string address;           // canonical form of data
    std::optional<uint32_t> ttl;   // nothing: the zone's default TTL applies
    std::string notes;
};

struct Zone {
    long id = 0;
    std::optional<uint32_t> default_ttl;
};

// The hosts of `fqdn` and `family` (4: A, 6: AAAA) in `xml`, Zerigo's answer
// to GET hosts.xml?fqdn=FQDN, whose hostnames are relative to `zone` (a
// comparable name: lower case, no trailing dot). The answer holds the hosts
// of that name only, of every type: each <host> directly under <hosts> must
// have an <id>, a <hostname> of that name and a <host-type> spelt as DNS
// spells it; one of the family also its <data> (an address of it) and a
// <ttl>. Hosts of other types are left out; anything else fails, quoting it.
adf::Result<std::vector<Host>> hosts_of_answer(std::string_view xml, const std::string &fqdn,
                                               const std::string &zone, int family);

// The zone in `xml`, Zerigo's answer to GET zones/DOMAIN.xml: its <id> and
// <default-ttl>.
adf::Result<Zone> zone_of_answer(std::string_view xml);

}  // namespace zerigo
