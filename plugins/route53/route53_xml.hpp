// The Route 53 XML documents this plugin reads and writes (API 2013-04-01).
// The readers are strict and pure (no network, no host services): an answer
// is read whole or refused with the reason, so unit tests and fuzzers call
// them with any text.
#pragma once

#include <autodnsfailover/result.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace route53 {

struct RecordSet {
    std::string name;  // as Route 53 spells it: trailing dot, \ooo escapes
    std::string type;
    uint32_t ttl = 0;
    std::vector<std::string> values;
    std::string set_identifier;  // non-empty for weighted, latency... sets
    bool alias = false;          // an alias has no TTL or values of its own
};

struct HostedZone {
    std::string id;    // "Z123", without the "/hostedzone/" prefix
    std::string name;  // "example.com."
};

struct AwsError {
    std::string code;     // "Throttling", "InvalidChangeBatch"...
    std::string message;  // every message of the document, joined
};

struct Change {
    const char *action;  // "CREATE" or "DELETE"
    RecordSet set;
};

// "WWW.Example.com." and "www.example.com" -> "www.example.com"; decodes
// the \ooo escapes Route 53 uses for characters such as "*" (\052).
std::string normalized_name(const std::string &name);

// "/hostedzone/Z123" or "Z123" -> "Z123".
std::string bare_zone_id(const std::string &id);

// Whether `id` (without "/hostedzone/") has the form of a hosted zone's id:
// 1 to 32 capital letters and digits ("Z0123456789ABCDEFGHIJ").
bool is_zone_id(const std::string &id);

// The set of `fqdn` and `family` (4: A, 6: AAAA) in a
// ListResourceRecordSetsResponse to name=FQDN&type=TYPE&maxitems=1, or
// nothing when there is none: with start-from semantics the set listed may
// be the next one, of another name or type. Every set listed needs a Name and
// a Type spelt as DNS spells it; ours also its TTL and its values, each an
// address of the family. An alias or a set with a routing policy is refused
// (autodnsfailover manages simple sets), and so is anything malformed, with
// the reason.
adf::Result<std::optional<RecordSet>> record_set_of_answer(std::string_view xml,
                                                           const std::string &fqdn, int family);

// The zones of a ListHostedZonesByNameResponse, in its order, each with an
// id of the right form (it goes into later URLs).
adf::Result<std::vector<HostedZone>> hosted_zones(std::string_view xml);

// The error in an ErrorResponse or InvalidChangeBatch document; nothing when
// the body is not such a document (an HTML page from a proxy...).
std::optional<AwsError> aws_error(const std::string &xml);

// The ChangeInfo Id of a ChangeResourceRecordSetsResponse.
adf::Result<std::string> change_id(std::string_view xml);

// A ChangeResourceRecordSetsRequest with `changes` in order (one atomic batch).
std::string change_batch_request(const std::vector<Change> &changes, const std::string &comment);

}  // namespace route53
