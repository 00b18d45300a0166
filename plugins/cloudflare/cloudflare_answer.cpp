#include "cloudflare_answer.hpp"

#include <autodnsfailover/json.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <limits>
#include <optional>

namespace cloudflare {
namespace {

using adf::json::shown;
using adf::record_sets::Relation;
using nlohmann::json;

// The string member `name` of `record`; a reason when it is missing or not
// a string.
adf::Result<std::string> string_of(const json &record, const char *name) {
    const auto it = record.find(name);
    if (it == record.end())
        return adf::Result<std::string>::failure("\"" + std::string(name) + "\" is missing");
    if (!it->is_string())
        return adf::Result<std::string>::failure("\"" + std::string(name) + "\" is " +
                                                 shown(*it, 40) + ", not a string");
    return it->get<std::string>();
}

// The entry of one listed record; a reason when it is malformed or not of
// `fqdn` and `family`.
adf::Result<Entry> entry_of(const json &record, const std::string &fqdn, int family) {
    using Out = adf::Result<Entry>;
    if (!record.is_object()) return Out::failure("not a record object");
    const adf::Result<std::string> type = string_of(record, "type");
    if (!type) return Out::failure(type.reason());
    const adf::Result<std::string> name = string_of(record, "name");
    if (!name) return Out::failure(name.reason());
    const adf::Result<Relation> relation = adf::record_sets::relation(*name, *type, fqdn, family);
    if (!relation) return Out::failure(relation.reason());
    if (*relation != Relation::kOurs)
        return Out::failure(adf::record_sets::foreign(*name, *type, fqdn, family));
    Entry entry;
    const adf::Result<std::string> id = string_of(record, "id");
    if (!id) return Out::failure(id.reason());
    if (id->empty()) return Out::failure("\"id\" is empty");
    entry.id = *id;
    const adf::Result<std::string> content = string_of(record, "content");
    if (!content) return Out::failure(content.reason());
    const adf::Result<std::string> address = adf::record_sets::address_value(*content, family);
    if (!address) return Out::failure(address.reason());
    entry.address = *address;
    const auto ttl = record.find("ttl");
    if (ttl == record.end()) return Out::failure("\"ttl\" is missing");
    if (!ttl->is_number_unsigned() || ttl->get<uint64_t>() > std::numeric_limits<uint32_t>::max())
        return Out::failure("\"ttl\" is " + shown(*ttl, 40) + ", not a TTL");
    entry.ttl = ttl->get<uint32_t>();
    // A record without a comment has "comment": null, or none at all.
    const auto comment = record.find("comment");
    if (comment != record.end() && !comment->is_null()) {
        if (!comment->is_string())
            return Out::failure("\"comment\" is " + shown(*comment, 40) + ", not a string");
        entry.comment = comment->get<std::string>();
    }
    return entry;
}

}  // namespace

adf::Result<Page> page_of_envelope(const json &envelope, const std::string &fqdn, int family) {
    using Out = adf::Result<Page>;
    const auto result = envelope.is_object() ? envelope.find("result") : envelope.end();
    if (!envelope.is_object() || result == envelope.end() || !result->is_array())
        return Out::failure("the answer has no \"result\" list: " + shown(envelope, 120));
    Page page;
    for (std::size_t i = 0; i < result->size(); ++i) {
        const json &record = (*result)[i];
        adf::Result<Entry> entry = entry_of(record, fqdn, family);
        if (!entry)
            return Out::failure("result[" + std::to_string(i) + "]: " + entry.reason() + ", in " +
                                shown(record, 160));
        page.entries.push_back(std::move(entry).value());
    }
    const auto info = envelope.find("result_info");
    if (info == envelope.end() || !info->is_object())
        return Out::failure("the answer has no \"result_info\" object, so it cannot say how "
                            "many pages there are");
    const auto pages = info->find("total_pages");
    if (pages == info->end() || !pages->is_number_integer() || pages->get<int64_t>() < 0 ||
        pages->get<int64_t>() > std::numeric_limits<long>::max())
        return Out::failure("result_info.total_pages is " +
                            (pages == info->end() ? std::string("missing")
                                                  : shown(*pages, 40) + ", not a page count"));
    page.total_pages = static_cast<long>(pages->get<int64_t>());
    return page;
}

adf::Result<Page> page_of_answer(std::string_view body, const std::string &fqdn, int family) {
    const adf::Result<json> envelope = adf::json::parse(body);
    if (!envelope) return adf::Result<Page>::failure("the answer is not JSON: " + envelope.reason());
    return page_of_envelope(*envelope, fqdn, family);
}

}  // namespace cloudflare
