// The Route 53 XML documents this plugin reads and writes (API 2013-04-01).
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace route53 {

// A document that is not the XML Route 53 sends.
class MalformedXml : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

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

// The first set of a ListResourceRecordSetsResponse, if any.
std::optional<RecordSet> first_record_set(const std::string &xml);

// The zones of a ListHostedZonesByNameResponse, in its order.
std::vector<HostedZone> hosted_zones(const std::string &xml);

// The error in an ErrorResponse or InvalidChangeBatch document; nothing when
// the body is not such a document (an HTML page from a proxy...).
std::optional<AwsError> aws_error(const std::string &xml);

// The ChangeInfo Id of a ChangeResourceRecordSetsResponse ("" if absent).
std::string change_id(const std::string &xml);

// A ChangeResourceRecordSetsRequest with `changes` in order (one atomic batch).
std::string change_batch_request(const std::vector<Change> &changes, const std::string &comment);

}  // namespace route53
