// One page of the Cloudflare API v4's DNS record listing (GET
// /zones/ZONE/dns_records?type=T&name=N&page=P), read strictly: the records
// of one name and type, or the reason the answer cannot be trusted. Pure (no
// network, no host services), so unit tests and fuzzers call it with any
// text.
#pragma once

#include <autodnsfailover/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cloudflare {

// One DNS record of Cloudflare, reduced to what the daemon manages.
struct Entry {
    std::string id;
    std::string address;  // canonical form of the record's content
    uint32_t ttl = 0;     // 1 = automatic
    std::string comment;
};

struct Page {
    std::vector<Entry> entries;
    long total_pages = 0;  // as result_info says
};

// The page in `envelope` ({success, errors, messages, result, result_info}),
// the answer to a listing filtered by `fqdn` and `family` (4: A, 6: AAAA).
// The filter is the server's, so every record listed must be of that name
// and type; each needs its id, its content (an address of the family) and
// its TTL; result_info its total_pages. Anything else fails, quoting it.
adf::Result<Page> page_of_envelope(const nlohmann::json &envelope, const std::string &fqdn,
                                   int family);

// The same from the answer's text.
adf::Result<Page> page_of_answer(std::string_view body, const std::string &fqdn, int family);

}  // namespace cloudflare
