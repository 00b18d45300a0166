// The PowerDNS Authoritative API's zone document (GET
// /api/v1/servers/ID/zones/ZONE), read strictly: the RRset of one name and
// type, or the reason the answer cannot be trusted. Pure (no network, no
// host services), so unit tests and fuzzers call it with any text.
#pragma once

#include <autodnsfailover/result.hpp>

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace powerdns {

// The account of the comment that carries our note.
constexpr const char *kCommentAccount = "autodnsfailover";

// One record of the RRset as PowerDNS stores it.
struct Entry {
    std::string content;  // as PowerDNS has it: written back unchanged
    std::string address;  // canonical form of content
    bool disabled = false;
};

// One RRset comment; written back unchanged when it is not ours.
struct Comment {
    std::string content;
    std::string account;
    std::optional<int64_t> modified_at;
};

// The RRset of one name and type; exists is false when the zone has none.
struct RRset {
    bool exists = false;
    uint32_t ttl = 0;
    std::vector<Entry> entries;
    std::vector<Comment> comments;

    // The addresses PowerDNS serves: disabled records are not served.
    std::set<std::string> served() const;
    // The newest comment of ours, else the first one (backends list comments
    // in their own order; gsqlite3: by modified_at); "" without comments.
    std::string note() const;
};

// The RRset of `fqdn` and `family` (4: A, 6: AAAA) in the zone document
// `body`. Every element of "rrsets" must be a well-formed RRset (an object
// with a name, a type spelt as DNS spells it and a list of records); the one
// of `fqdn` and `family` must also have its TTL, its comments and records
// whose content is an address of the family. Anything else fails, quoting
// the element (RRsets of other names and types are a zone's normal content
// and are left out).
adf::Result<RRset> rrset_of_zone(std::string_view body, const std::string &fqdn, int family);

// `comments` as the API takes them in a PATCH.
nlohmann::json comments_json(const std::vector<Comment> &comments);

}  // namespace powerdns
