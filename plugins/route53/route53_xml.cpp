#include "route53_xml.hpp"

#include <tinyxml2.h>

#include <cctype>
#include <cstdlib>

namespace route53 {
namespace {

constexpr const char *kNamespace = "https://route53.amazonaws.com/doc/2013-04-01/";

using tinyxml2::XMLDocument;
using tinyxml2::XMLElement;

void parse(XMLDocument &document, const std::string &xml) {
    if (document.Parse(xml.data(), xml.size()) != tinyxml2::XML_SUCCESS ||
        document.RootElement() == nullptr)
        throw MalformedXml(std::string("not well-formed XML (") + document.ErrorStr() + ")");
}

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

RecordSet record_set_of(const XMLElement *element) {
    RecordSet set;
    set.name = text_of(child(element, "Name"));
    set.type = text_of(child(element, "Type"));
    set.set_identifier = text_of(child(element, "SetIdentifier"));
    set.alias = child(element, "AliasTarget") != nullptr;
    if (const XMLElement *ttl = child(element, "TTL")) {
        char *end = nullptr;
        const std::string text = text_of(ttl);
        const unsigned long value = std::strtoul(text.c_str(), &end, 10);
        if (text.empty() || *end != '\0' || value > UINT32_MAX)
            throw MalformedXml("the TTL \"" + text + "\" of " + set.name + " is not a number");
        set.ttl = static_cast<uint32_t>(value);
    }
    const XMLElement *records = child(element, "ResourceRecords");
    for (const XMLElement *r = child(records, "ResourceRecord"); r;
         r = r->NextSiblingElement("ResourceRecord"))
        set.values.push_back(text_of(child(r, "Value")));
    return set;
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

std::optional<RecordSet> first_record_set(const std::string &xml) {
    XMLDocument document;
    parse(document, xml);
    const XMLElement *sets = child(document.RootElement(), "ResourceRecordSets");
    if (sets == nullptr) throw MalformedXml("no ResourceRecordSets element");
    const XMLElement *first = child(sets, "ResourceRecordSet");
    if (first == nullptr) return std::nullopt;
    return record_set_of(first);
}

std::vector<HostedZone> hosted_zones(const std::string &xml) {
    XMLDocument document;
    parse(document, xml);
    const XMLElement *zones = child(document.RootElement(), "HostedZones");
    if (zones == nullptr) throw MalformedXml("no HostedZones element");
    std::vector<HostedZone> out;
    for (const XMLElement *z = child(zones, "HostedZone"); z; z = z->NextSiblingElement("HostedZone"))
        out.push_back({bare_zone_id(text_of(child(z, "Id"))), text_of(child(z, "Name"))});
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

std::string change_id(const std::string &xml) {
    XMLDocument document;
    parse(document, xml);
    return text_of(child(child(document.RootElement(), "ChangeInfo"), "Id"));
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
