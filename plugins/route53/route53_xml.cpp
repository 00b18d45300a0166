#include "route53_xml.hpp"

#include <tinyxml2.h>

#include <autodnsfailover/record_sets.hpp>
#include <autodnsfailover/xml.hpp>

#include <cctype>
#include <cstdlib>

namespace route53 {
namespace {

constexpr const char *kNamespace = "https://route53.amazonaws.com/doc/2013-04-01/";

using adf::record_sets::Relation;
using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;


std::string text_of(const XMLElement *element) {
    const char *text = element ? element->GetText() : nullptr;
    return text ? text : "";
}

const XMLElement *child(const XMLElement *parent, const char *name) {
    return parent ? parent->FirstChildElement(name) : nullptr;
}

// The first element called `name` anywhere below `parent`.
const XMLElement *find(const XMLElement *parent, const char *name) {
    for (const XMLElement *e = parent->FirstChildElement(); e; e = e->NextSiblingElement()) {
        if (std::string(e->Name()) == name) return e;
        if (const XMLElement *below = find(e, name)) return below;
    }
    return nullptr;
}

// The text of child `name` of `set`, required; a reason naming the set's
// position when it is missing.
adf::Result<std::string> required_text(const XMLElement *set, const char *name,
                                       const std::string &where) {
    const XMLElement *element = child(set, name);
    if (element == nullptr)
        return adf::Result<std::string>::failure(where + " has no <" + name + ">");
    return text_of(element);
}

// A TTL: decimal digits only, at most 2^31 - 1 as Route 53 allows.
std::optional<uint32_t> ttl_of(const std::string &text) {
    if (text.empty() || text.size() > 10 || text.find_first_not_of("0123456789") != std::string::npos)
        return std::nullopt;
    const unsigned long long value = std::strtoull(text.c_str(), nullptr, 10);
    if (value > 2147483647ULL) return std::nullopt;
    return static_cast<uint32_t>(value);
}

// The TTL and values of our set, each value an address of the family.
std::optional<std::string> read_ours(const XMLElement *element, int family, RecordSet &set,
                                     const std::string &where) {
    const std::string what = set.name + " " + set.type;
    if (set.alias)
        return what + " is an alias record; autodnsfailover manages plain record sets only";
    if (!set.set_identifier.empty())
        return what + " has a routing policy (SetIdentifier " + adf::excerpt(set.set_identifier, 60) +
               "); autodnsfailover manages simple record sets only";
    const adf::Result<std::string> ttl = required_text(element, "TTL", where);
    if (!ttl) return ttl.reason();
    const std::optional<uint32_t> seconds = ttl_of(*ttl);
    if (!seconds) return where + " has the TTL " + adf::excerpt(*ttl, 20) + ", not a number of seconds";
    set.ttl = *seconds;
    const XMLElement *records = child(element, "ResourceRecords");
    if (records == nullptr) return where + " has no <ResourceRecords>";
    for (const XMLElement *r = records->FirstChildElement(); r; r = r->NextSiblingElement()) {
        if (std::string(r->Name()) != "ResourceRecord")
            return where + ": <ResourceRecords> holds a <" + std::string(r->Name()).substr(0, 40) +
                   "> element where only <ResourceRecord> belongs";
        const adf::Result<std::string> value = required_text(r, "Value", where + "'s record");
        if (!value) return value.reason();
        const adf::Result<std::string> address = adf::record_sets::address_value(*value, family);
        if (!address) return where + ": " + address.reason();
        set.values.push_back(*value);  // as Route 53 spells it: a DELETE must match it
    }
    if (set.values.empty()) return where + " has no values in its <ResourceRecords>";
    return std::nullopt;
}

void add_text(XMLDocument &document, XMLElement *parent, const char *name,
              const std::string &text) {
    XMLElement *element = document.NewElement(name);
    element->SetText(text.c_str());
    parent->InsertEndChild(element);
}

XMLElement *add_element(XMLDocument &document, XMLElement *parent, const char *name) {
    XMLElement *element = document.NewElement(name);
    parent->InsertEndChild(element);
    return element;
}

}  // namespace

std::string normalized_name(const std::string &name) {
    const auto digit = [&](size_t i) { return std::isdigit(static_cast<unsigned char>(name[i])); };
    std::string out;
    for (size_t i = 0; i < name.size(); ++i) {
        if (name[i] == '\\' && i + 3 < name.size() && digit(i + 1) && digit(i + 2) && digit(i + 3)) {
            out += static_cast<char>(std::strtol(name.substr(i + 1, 3).c_str(), nullptr, 8));
            i += 3;
        } else {
            out += name[i];
        }
    }
    if (!out.empty() && out.back() == '.') out.pop_back();
    for (char &c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string bare_zone_id(const std::string &id) {
    const std::string prefix = "/hostedzone/";
    return id.rfind(prefix, 0) == 0 ? id.substr(prefix.size()) : id;
}

bool is_zone_id(const std::string &id) {
    return !id.empty() && id.size() <= 32 &&
           id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == std::string::npos;
}

adf::Result<std::optional<RecordSet>> record_set_of_answer(std::string_view xml,
                                                           const std::string &fqdn, int family) {
    using Out = adf::Result<std::optional<RecordSet>>;
    XMLDocument document;
    const adf::Result<const XMLElement *> root =
        adf::xml::root(document, xml, "ListResourceRecordSetsResponse");
    if (!root) return Out::failure(root.reason());
    const XMLElement *sets = child(*root, "ResourceRecordSets");
    if (sets == nullptr) return Out::failure("no <ResourceRecordSets> element");
    std::optional<RecordSet> ours;
    int index = 0;
    for (const XMLElement *e = sets->FirstChildElement(); e; e = e->NextSiblingElement(), ++index) {
        const std::string where = "record set " + std::to_string(index + 1);
        if (std::string(e->Name()) != "ResourceRecordSet")
            return Out::failure("<ResourceRecordSets> holds a <" +
                                std::string(e->Name()).substr(0, 40) +
                                "> element where only <ResourceRecordSet> belongs");
        RecordSet set;
        for (const auto &[field, name] : {std::pair{&set.name, "Name"}, std::pair{&set.type, "Type"}}) {
            adf::Result<std::string> text = required_text(e, name, where);
            if (!text) return Out::failure(text.reason());
            *field = *text;
        }
        const adf::Result<Relation> relation =
            adf::record_sets::relation(normalized_name(set.name), set.type, fqdn, family);
        if (!relation) return Out::failure(where + " (" + adf::excerpt(set.name, 80) + "): " +
                                           relation.reason());
        if (*relation != Relation::kOurs) continue;  // start-from: the next set listed
        if (ours) return Out::failure(where + ": a second set of " + set.name + " " + set.type);
        set.set_identifier = text_of(child(e, "SetIdentifier"));
        set.alias = child(e, "AliasTarget") != nullptr;
        if (auto problem = read_ours(e, family, set, where)) return Out::failure(*problem);
        ours = std::move(set);
    }
    return ours;
}

adf::Result<std::vector<HostedZone>> hosted_zones(std::string_view xml) {
    using Out = adf::Result<std::vector<HostedZone>>;
    XMLDocument document;
    const adf::Result<const XMLElement *> root =
        adf::xml::root(document, xml, "ListHostedZonesByNameResponse");
    if (!root) return Out::failure(root.reason());
    const XMLElement *zones = child(*root, "HostedZones");
    if (zones == nullptr) return Out::failure("no <HostedZones> element");
    std::vector<HostedZone> out;
    for (const XMLElement *z = child(zones, "HostedZone"); z; z = z->NextSiblingElement("HostedZone")) {
        HostedZone zone{bare_zone_id(text_of(child(z, "Id"))), text_of(child(z, "Name"))};
        if (!is_zone_id(zone.id))
            return Out::failure("the hosted zone " + adf::excerpt(zone.name, 80) + " has the id " +
                                adf::excerpt(text_of(child(z, "Id")), 60) +
                                ", not a hosted zone's id");
        out.push_back(std::move(zone));
    }
    return out;
}

std::optional<AwsError> aws_error(const std::string &xml) {
    XMLDocument document;
    if (document.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS) return std::nullopt;
    const XMLElement *root = document.RootElement();
    if (root == nullptr) return std::nullopt;
    AwsError error;
    if (std::string(root->Name()) == "ErrorResponse") {
        const XMLElement *body = child(root, "Error");
        error.code = text_of(child(body, "Code"));
        error.message = text_of(child(body, "Message"));
    } else if (std::string(root->Name()) == "InvalidChangeBatch") {
        // Route 53's own shape: <InvalidChangeBatch><Messages><Message>...
        error.code = "InvalidChangeBatch";
        const XMLElement *messages = child(root, "Messages");
        for (const XMLElement *m = child(messages, "Message"); m;
             m = m->NextSiblingElement("Message"))
            error.message += (error.message.empty() ? "" : "; ") + text_of(m);
        if (error.message.empty()) error.message = text_of(find(root, "Message"));
    } else {
        return std::nullopt;
    }
    if (error.code.empty()) return std::nullopt;
    return error;
}

adf::Result<std::string> change_id(std::string_view xml) {
    XMLDocument document;
    const adf::Result<const XMLElement *> root =
        adf::xml::root(document, xml, "ChangeResourceRecordSetsResponse");
    if (!root) return adf::Result<std::string>::failure(root.reason());
    return text_of(child(child(*root, "ChangeInfo"), "Id"));
}

std::string change_batch_request(const std::vector<Change> &changes, const std::string &comment) {
    XMLDocument document;
    document.InsertEndChild(document.NewDeclaration("xml version=\"1.0\" encoding=\"UTF-8\""));
    XMLElement *root = document.NewElement("ChangeResourceRecordSetsRequest");
    root->SetAttribute("xmlns", kNamespace);
    document.InsertEndChild(root);
    XMLElement *batch = add_element(document, root, "ChangeBatch");
    add_text(document, batch, "Comment", comment);
    XMLElement *list = add_element(document, batch, "Changes");
    for (const Change &change : changes) {
        XMLElement *element = add_element(document, list, "Change");
        add_text(document, element, "Action", change.action);
        XMLElement *set = add_element(document, element, "ResourceRecordSet");
        add_text(document, set, "Name", change.set.name);
        add_text(document, set, "Type", change.set.type);
        add_text(document, set, "TTL", std::to_string(change.set.ttl));
        XMLElement *records = add_element(document, set, "ResourceRecords");
        for (const std::string &value : change.set.values)
            add_text(document, add_element(document, records, "ResourceRecord"), "Value", value);
    }
    tinyxml2::XMLPrinter printer(nullptr, true);  // compact
    document.Print(&printer);
    return std::string(printer.CStr(), printer.CStrSize() - 1);
}

}  // namespace route53
