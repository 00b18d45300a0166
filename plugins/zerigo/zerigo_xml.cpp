#include "zerigo_xml.hpp"

#include <tinyxml2.h>

#include <autodnsfailover/record_sets.hpp>
#include <autodnsfailover/xml.hpp>

#include <cerrno>
#include <cstdlib>
#include <limits>

namespace zerigo {
namespace {

using adf::record_sets::Relation;
using tinyxml2::XMLElement;

// Element `name` of `parent`: missing, nil="true" (Zerigo's "no value"), or
// its text ("" when empty).
struct Child {
    bool present = false;
    bool nil = false;
    std::string text;
};

Child child(const XMLElement *parent, const char *name) {
    const XMLElement *element = parent->FirstChildElement(name);
    if (element == nullptr) return {};
    if (element->BoolAttribute("nil", false)) return {true, true, ""};
    return {true, false, element->GetText() ? element->GetText() : ""};
}

// A decimal integer in [min, max], digits only ("+5", " 5", "5x" are not).
std::optional<long long> integer_of(const std::string &text, long long min, long long max) {
    const std::size_t digits_from = !text.empty() && text[0] == '-' ? 1 : 0;
    if (text.size() == digits_from || text.size() > 19 ||
        text.find_first_not_of("0123456789", digits_from) != std::string::npos)
        return std::nullopt;
    errno = 0;
    const long long value = std::strtoll(text.c_str(), nullptr, 10);
    if (errno != 0 || value < min || value > max) return std::nullopt;
    return value;
}

// The integer of a present, non-nil element; a reason quoting it otherwise.
adf::Result<long long> required_integer(const XMLElement *parent, const char *name,
                                        long long min, long long max) {
    const Child c = child(parent, name);
    if (!c.present || c.nil)
        return adf::Result<long long>::failure(std::string("<") + name + "> is " +
                                               (c.present ? "nil" : "missing"));
    if (const auto value = integer_of(c.text, min, max)) return *value;
    return adf::Result<long long>::failure(std::string("<") + name + "> is " +
                                           adf::excerpt(c.text, 40) + ", not an integer from " +
                                           std::to_string(min) + " to " + std::to_string(max));
}

// A TTL element that may be nil (then the zone's default applies).
adf::Result<std::optional<uint32_t>> optional_ttl(const XMLElement *parent, const char *name) {
    using Out = adf::Result<std::optional<uint32_t>>;
    const Child c = child(parent, name);
    if (!c.present) return Out::failure(std::string("<") + name + "> is missing");
    if (c.nil) return std::optional<uint32_t>();
    if (const auto value = integer_of(c.text, 0, std::numeric_limits<uint32_t>::max()))
        return std::optional<uint32_t>(static_cast<uint32_t>(*value));
    return Out::failure(std::string("<") + name + "> is " + adf::excerpt(c.text, 40) +
                        ", not a TTL");
}

// The host in `node`, of `fqdn` and some type; nothing when it is of
// another type; a reason when it is malformed or of another name.
adf::Result<std::optional<Host>> host_of(const XMLElement *node, const std::string &fqdn,
                                         const std::string &zone, int family) {
    using Out = adf::Result<std::optional<Host>>;
    const adf::Result<long long> id = required_integer(node, "id", 1, std::numeric_limits<long>::max());
    if (!id) return Out::failure(id.reason());
    const std::string host = "host " + std::to_string(*id);
    const Child hostname = child(node, "hostname");
    const Child type = child(node, "host-type");
    if (!hostname.present) return Out::failure(host + ": <hostname> is missing");
    if (!type.present || type.nil)
        return Out::failure(host + ": <host-type> is " + (type.present ? "nil" : "missing"));
    // A nil or empty hostname is the zone's apex.
    const std::string name = hostname.text.empty() ? zone : hostname.text + "." + zone;
    const adf::Result<Relation> relation = adf::record_sets::relation(name, type.text, fqdn, family);
    if (!relation) return Out::failure(host + ": " + relation.reason());
    if (*relation == Relation::kOtherName)
        return Out::failure(host + ": " + adf::record_sets::foreign(name, type.text, fqdn, family));
    if (*relation == Relation::kOtherType) return std::optional<Host>();
    Host out;
    out.id = static_cast<long>(*id);
    const Child data = child(node, "data");
    if (!data.present || data.nil)
        return Out::failure(host + ": <data> is " + (data.present ? "nil" : "missing"));
    out.data = data.text;
    const adf::Result<std::string> address = adf::record_sets::address_value(data.text, family);
    if (!address) return Out::failure(host + ": " + address.reason());
    out.address = *address;
    const adf::Result<std::optional<uint32_t>> ttl = optional_ttl(node, "ttl");
    if (!ttl) return Out::failure(host + ": " + ttl.reason());
    out.ttl = *ttl;
    out.notes = child(node, "notes").text;
    return std::optional<Host>(std::move(out));
}

}  // namespace

adf::Result<std::vector<Host>> hosts_of_answer(std::string_view xml, const std::string &fqdn,
                                               const std::string &zone, int family) {
    using Out = adf::Result<std::vector<Host>>;
    tinyxml2::XMLDocument document;
    const adf::Result<const XMLElement *> root = adf::xml::root(document, xml, "hosts");
    if (!root) return Out::failure(root.reason());
    std::vector<Host> hosts;
    for (const tinyxml2::XMLNode *node = (*root)->FirstChild(); node; node = node->NextSibling()) {
        if (node->ToComment() != nullptr) continue;
        const XMLElement *element = node->ToElement();
        if (element == nullptr || std::string(element->Name()) != "host") {
            const tinyxml2::XMLText *text = node->ToText();
            const std::string what =
                element ? "a <" + std::string(element->Name()).substr(0, 40) + "> element"
                : text  ? "the text " + adf::excerpt(text->Value() ? text->Value() : "", 60)
                        : std::string("a node that is no element");
            return Out::failure("<hosts> holds " + what + " where only <host> elements belong");
        }
        adf::Result<std::optional<Host>> host = host_of(element, fqdn, zone, family);
        if (!host) return Out::failure(host.reason());
        if (*host) hosts.push_back(std::move(**host));
    }
    return hosts;
}

adf::Result<Zone> zone_of_answer(std::string_view xml) {
    using Out = adf::Result<Zone>;
    tinyxml2::XMLDocument document;
    const adf::Result<const XMLElement *> root = adf::xml::root(document, xml, "zone");
    if (!root) return Out::failure(root.reason());
    const adf::Result<long long> id =
        required_integer(*root, "id", 1, std::numeric_limits<long>::max());
    if (!id) return Out::failure("the zone's " + id.reason());
    Zone zone;
    zone.id = static_cast<long>(*id);
    if (child(*root, "default-ttl").present) {
        const adf::Result<std::optional<uint32_t>> ttl = optional_ttl(*root, "default-ttl");
        if (!ttl) return Out::failure("the zone's " + ttl.reason());
        zone.default_ttl = *ttl;
    }
    return zone;
}

}  // namespace zerigo
