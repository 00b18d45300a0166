#include "powerdns_answer.hpp"

#include <autodnsfailover/json.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <limits>

namespace powerdns {
namespace {

using adf::json::shown;
using adf::record_sets::Relation;
using nlohmann::json;

// Why `object` has no member `name` of type `kind` ("string"...), or "".
std::string member_problem(const json &object, const char *name, const char *kind,
                           bool (json::*is_kind)() const noexcept) {
    const auto it = object.find(name);
    if (it == object.end()) return "\"" + std::string(name) + "\" is missing";
    if (!((*it).*is_kind)())
        return "\"" + std::string(name) + "\" is " + shown(*it, 40) + ", not a " + kind;
    return "";
}

// An error about `element` (what PowerDNS sent), at `where` ("rrsets[3]").
adf::Result<RRset> malformed(const std::string &where, const std::string &problem,
                             const json &element) {
    return adf::Result<RRset>::failure(where + ": " + problem + ", in " + shown(element, 160));
}

// The records of our RRset: objects with a string content that is an
// address of the family, and a boolean disabled.
std::optional<std::string> read_entries(const json &records, int family,
                                        std::vector<Entry> &entries) {
    for (std::size_t i = 0; i < records.size(); ++i) {
        const json &record = records[i];
        const std::string where = "records[" + std::to_string(i) + "]";
        if (!record.is_object()) return where + " is " + shown(record, 40) + ", not an object";
        std::string problem = member_problem(record, "content", "string", &json::is_string);
        if (problem.empty()) problem = member_problem(record, "disabled", "boolean", &json::is_boolean);
        if (!problem.empty()) return where + ": " + problem;
        Entry entry;
        entry.content = record["content"].get<std::string>();
        entry.disabled = record["disabled"].get<bool>();
        const adf::Result<std::string> address = adf::record_sets::address_value(entry.content, family);
        if (!address) return where + ": " + address.reason();
        entry.address = *address;
        entries.push_back(std::move(entry));
    }
    return std::nullopt;
}

// The comments of our RRset: objects with string content and account, and
// an integer modified_at when there is one.
std::optional<std::string> read_comments(const json &comments, std::vector<Comment> &out) {
    for (std::size_t i = 0; i < comments.size(); ++i) {
        const json &comment = comments[i];
        const std::string where = "comments[" + std::to_string(i) + "]";
        if (!comment.is_object()) return where + " is " + shown(comment, 40) + ", not an object";
        for (const char *name : {"content", "account"})
            if (std::string problem = member_problem(comment, name, "string", &json::is_string);
                !problem.empty())
                return where + ": " + problem;
        Comment c{comment["content"].get<std::string>(), comment["account"].get<std::string>(),
                  std::nullopt};
        if (const auto at = comment.find("modified_at"); at != comment.end()) {
            if (!at->is_number_integer())
                return where + ": \"modified_at\" is " + shown(*at, 40) + ", not an integer";
            c.modified_at = at->get<int64_t>();
        }
        out.push_back(std::move(c));
    }
    return std::nullopt;
}

// TTL, records and comments of the RRset of our name and type.
std::optional<std::string> read_ours(const json &rrset, int family, RRset &out) {
    const auto ttl = rrset.find("ttl");
    if (ttl == rrset.end()) return "\"ttl\" is missing";
    if (!ttl->is_number_unsigned() || ttl->get<uint64_t>() > std::numeric_limits<uint32_t>::max())
        return "\"ttl\" is " + shown(*ttl, 40) + ", not a TTL";
    out.ttl = ttl->get<uint32_t>();
    if (std::string problem = member_problem(rrset, "comments", "list", &json::is_array);
        !problem.empty())
        return problem;
    if (auto problem = read_entries(rrset["records"], family, out.entries)) return problem;
    return read_comments(rrset["comments"], out.comments);
}

}  // namespace

std::set<std::string> RRset::served() const {
    std::set<std::string> out;
    for (const Entry &e : entries)
        if (!e.disabled) out.insert(e.address);
    return out;
}

std::string RRset::note() const {
    const Comment *chosen = nullptr;
    for (const Comment &comment : comments) {
        if (comment.account != kCommentAccount) continue;
        if (chosen == nullptr || comment.modified_at.value_or(0) >= chosen->modified_at.value_or(0))
            chosen = &comment;
    }
    if (chosen == nullptr && !comments.empty()) chosen = &comments.front();
    return chosen ? chosen->content : "";
}

adf::Result<RRset> rrset_of_zone(std::string_view body, const std::string &fqdn, int family) {
    const adf::Result<json> zone = adf::json::parse(body);
    if (!zone) return adf::Result<RRset>::failure("the answer is not JSON: " + zone.reason());
    const auto rrsets = zone->is_object() ? zone->find("rrsets") : zone->end();
    if (!zone->is_object() || rrsets == zone->end() || !rrsets->is_array())
        return adf::Result<RRset>::failure("the answer is not a zone with an \"rrsets\" list: " +
                                           shown(*zone, 120));
    RRset out;
    for (std::size_t i = 0; i < rrsets->size(); ++i) {
        const json &rrset = (*rrsets)[i];
        const std::string where = "rrsets[" + std::to_string(i) + "]";
        if (!rrset.is_object()) return malformed(where, "not an RRset object", rrset);
        for (const char *name : {"name", "type"})
            if (std::string problem = member_problem(rrset, name, "string", &json::is_string);
                !problem.empty())
                return malformed(where, problem, rrset);
        if (std::string problem = member_problem(rrset, "records", "list", &json::is_array);
            !problem.empty())
            return malformed(where, problem, rrset);
        const adf::Result<Relation> relation = adf::record_sets::relation(
            rrset["name"].get<std::string>(), rrset["type"].get<std::string>(), fqdn, family);
        if (!relation) return malformed(where, relation.reason(), rrset);
        if (*relation != Relation::kOurs) continue;
        if (out.exists) return malformed(where, "a second RRset of the same name and type", rrset);
        out.exists = true;
        if (auto problem = read_ours(rrset, family, out)) return malformed(where, *problem, rrset);
    }
    return out;
}

nlohmann::json comments_json(const std::vector<Comment> &comments) {
    json out = json::array();
    for (const Comment &comment : comments) {
        json c = {{"content", comment.content}, {"account", comment.account}};
        if (comment.modified_at) c["modified_at"] = *comment.modified_at;
        out.push_back(std::move(c));
    }
    return out;
}

}  // namespace powerdns
