// Reads over plain DNS (config key "read_from"): a record set read with a
// non-recursive query to the zone's authoritative servers instead of the dns
// plugin's API, so that a steady pool spends no API calls.
#pragma once

#include <string>

#include "config/config.h"
#include "plugin/kinds.h"

namespace adf::dnsread {

class DirectReader {
   public:
    explicit DirectReader(config::ReadFrom options) : options_(std::move(options)) {}

    // The A (family 4) or AAAA (6) records of `fqdn`, like DnsBackend::read:
    // records sorted numerically with their TTL and no note. Servers are
    // asked in order until one answers authoritatively: NOERROR with the
    // RRset, or no records (NODATA, NXDOMAIN) as an empty set. SERVFAIL,
    // REFUSED, answers without the AA bit and timeouts move on to the next
    // server; when none answers, the read fails (ADF_TRANSIENT, or ADF_FAILED
    // when every reason will repeat) naming every server's reason. A CNAME at
    // the name fails the read at once: it is not followed.
    plugin::DnsBackend::Read read(const std::string &fqdn, int family) const;

   private:
    config::ReadFrom options_;
};

// "127.0.0.1:53053, [::1]:5353 (UDP, TCP when truncated; timeout 2 s)",
// for check-config.
std::string describe(const config::ReadFrom &options);

}  // namespace adf::dnsread
