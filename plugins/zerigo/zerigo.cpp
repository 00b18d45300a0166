// zerigo: A/AAAA records through the Zerigo DNS REST API 1.1 (XML over
// HTTPS, Basic auth), the seed's reference DNS backend.
//
// Zerigo has no conditional update, so add and remove re-read the set just
// before writing and refuse (ADF_CONFLICT) when it differs from what the host
// expects. Reads use GET /hosts.xml?fqdn=, never the zone listing, which
// leaves out the hosts of zones with over 300 of them.
#include <tinyxml2.h>

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace {

using adf::record_sets::addresses_of;
using adf::record_sets::comparable_name;
using adf::record_sets::describe;

constexpr std::size_t kMaxBody = 16 * 1024 * 1024;
constexpr const char *kDefaultEndpoint = "https://ns.zerigo.com/api/1.1/";

// The text of child `name` of `parent`, nullopt when it is missing or
// marked nil="true" (Zerigo's way of writing "no value").
std::optional<std::string> child_text(const tinyxml2::XMLElement *parent, const char *name) {
    const tinyxml2::XMLElement *child = parent->FirstChildElement(name);
    if (child == nullptr || child->BoolAttribute("nil", false)) return std::nullopt;
    return std::string(child->GetText() ? child->GetText() : "");
}

std::optional<long> child_integer(const tinyxml2::XMLElement *parent, const char *name) {
    const auto text = child_text(parent, name);
    if (!text || text->empty()) return std::nullopt;
    try {
        std::size_t used = 0;
        const long value = std::stol(*text, &used);
        if (used == text->size()) return value;
    } catch (const std::exception &) {
    }
    return std::nullopt;
}

class Zerigo {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_NOTES;

    explicit Zerigo(adf::Host &host) : host_(host) {
        user_ = host.required_string("/user", "the e-mail address of the Zerigo account");
        // HTTP Basic auth separates user and key with the first colon.
        if (user_.find(':') != std::string::npos)
            host.config_error("/user", "must not contain \":\" (HTTP Basic auth cannot send it)");
        api_key_ = host.required_string("/api_key", "the API key of the Zerigo account");
        zone_ = comparable_name(host.required_string("/zone", "the zone's domain name"));
        endpoint_ = adf::http::url_setting(host, "/endpoint", kDefaultEndpoint) + "/";
        ttl_ = static_cast<uint32_t>(host.integer("/ttl", 60, 1, 2147483647));
        request_timeout_ = host.number("/request_timeout", 10.0, 0.1, 300.0);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        for (const Entry &entry : fetch(fqdn, family))
            sink.emit(entry.data, entry.ttl, entry.notes);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        const std::string hostname = hostname_of(fqdn);
        const std::set<std::string> current = addresses_of(fetch(fqdn, family));
        if (!adf::record_sets::should_add(host_, fqdn, family, expected, current, record.address))
            return;
        // The host passes the set's TTL (records of a set share one, RFC
        // 2181), or 0 for a first record: then the configured default.
        const uint32_t ttl = record.ttl != 0 ? record.ttl : ttl_;
        const std::string path = "zones/" + std::to_string(zone().id) + "/hosts.xml";
        const adf::http::Response response =
            call("POST", path, host_xml(hostname, family, record.address, ttl, record.note));
        const std::string what = "adding " + describe(fqdn, family, record.address);
        if (response.status == 422)
            throw adf::Error(ADF_FAILED, "Zerigo refused " + what + ": " + errors_of(response));
        require_success(response, "POST", path);
        host_.info("added " + describe(fqdn, family, record.address) + " with TTL " +
                   std::to_string(ttl) +
                   (record.note.empty() ? "" : ", note \"" + record.note + "\""));
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        const std::vector<Entry> current = fetch(fqdn, family);
        if (!adf::record_sets::should_remove(host_, fqdn, family, expected, addresses_of(current),
                                             address))
            return;
        for (const Entry &entry : current)
            if (entry.address == address) delete_host(entry.id, describe(fqdn, family, address));
    }

   private:
    // One host record of Zerigo, reduced to what the daemon manages.
    struct Entry {
        long id = 0;
        std::string data;     // as Zerigo stores it
        std::string address;  // canonical form of data
        uint32_t ttl = 0;
        std::string notes;
    };
    struct Zone {
        long id = 0;
        std::optional<uint32_t> default_ttl;
    };

    // The name relative to the zone, as Zerigo's <hostname> holds it.
    std::string hostname_of(const std::string &fqdn) const {
        const std::string name = adf::record_sets::name_in_zone(fqdn, zone_);
        if (name == zone_)
            throw adf::Error(ADF_BAD_CONFIG,
                             "the zone apex \"" + zone_ +
                                 "\" cannot be managed through Zerigo: use a name below the "
                                 "zone (fqdn) or the parent zone (key \"zone\")");
        return name.substr(0, name.size() - zone_.size() - 1);  // and the dot
    }

    // The records of `fqdn` and `family`; a 404 means there are none.
    std::vector<Entry> fetch(const std::string &fqdn, int family) {
        const std::string hostname = hostname_of(fqdn);
        const std::string path = "hosts.xml?fqdn=" + adf::http::escape(comparable_name(fqdn));
        tinyxml2::XMLDocument doc;
        const tinyxml2::XMLElement *root = get_xml(doc, path, "hosts");
        if (root == nullptr) return {};
        std::vector<Entry> entries;
        for (auto *node = root->FirstChildElement("host"); node != nullptr;
             node = node->NextSiblingElement("host")) {
            if (comparable_name(child_text(node, "hostname").value_or("")) != hostname) continue;
            if (child_text(node, "host-type").value_or("") != adf::record_type(family)) continue;
            entries.push_back(entry_of(node, family, path));
        }
        return entries;
    }

    Entry entry_of(const tinyxml2::XMLElement *node, int family, const std::string &path) {
        Entry entry;
        const auto id = child_integer(node, "id");
        if (!id)
            throw adf::Error(ADF_FAILED, "GET " + url(path) + ": a <host> without an <id>");
        entry.id = *id;
        entry.data = child_text(node, "data").value_or("");
        const auto canonical = adf::canonical_address(entry.data, family);
        if (!canonical)
            throw adf::Error(ADF_FAILED, "GET " + url(path) + ": host " + std::to_string(*id) +
                                             " has data \"" + entry.data +
                                             "\", which is not an address of its type " +
                                             adf::record_type(family));
        entry.address = *canonical;
        // A host without its own TTL uses the zone's default TTL.
        const auto ttl = child_integer(node, "ttl");
        entry.ttl = ttl ? static_cast<uint32_t>(*ttl) : zone().default_ttl.value_or(ttl_);
        entry.notes = child_text(node, "notes").value_or("");
        return entry;
    }

    // Zerigo's zone id (for creating hosts), looked up once.
    const Zone &zone() {
        if (zone_info_) return *zone_info_;
        const std::string path = "zones/" + adf::http::escape(zone_) + ".xml";
        tinyxml2::XMLDocument doc;
        const tinyxml2::XMLElement *root = get_xml(doc, path, "zone");
        if (root == nullptr)
            throw adf::Error(ADF_FAILED, "the zone \"" + zone_ +
                                             "\" (key \"zone\") does not exist in this Zerigo "
                                             "account: GET " + url(path) + " answered 404");
        const auto id = child_integer(root, "id");
        if (!id)
            throw adf::Error(ADF_FAILED, "GET " + url(path) + ": the zone has no <id>");
        Zone zone;
        zone.id = *id;
        if (const auto ttl = child_integer(root, "default-ttl"))
            zone.default_ttl = static_cast<uint32_t>(*ttl);
        zone_info_ = zone;
        host_.debug("zone " + zone_ + " has Zerigo id " + std::to_string(zone.id));
        return *zone_info_;
    }

    void delete_host(long id, const std::string &what) {
        const std::string path = "hosts/" + std::to_string(id) + ".xml";
        const adf::http::Response response = call("DELETE", path, "");
        if (response.status == 404) {
            host_.info(what + " (host " + std::to_string(id) +
                       ") was already gone when deleting it");
            return;
        }
        require_success(response, "DELETE", path);
        host_.info("removed " + what + " (host " + std::to_string(id) + ")");
    }

    std::string host_xml(const std::string &hostname, int family, const std::string &address,
                         uint32_t ttl, const std::string &notes) const {
        tinyxml2::XMLDocument doc;
        tinyxml2::XMLElement *host = doc.NewElement("host");
        doc.InsertEndChild(host);
        host->InsertNewChildElement("hostname")->SetText(hostname.c_str());
        host->InsertNewChildElement("host-type")->SetText(adf::record_type(family));
        host->InsertNewChildElement("data")->SetText(address.c_str());
        tinyxml2::XMLElement *ttl_element = host->InsertNewChildElement("ttl");
        ttl_element->SetAttribute("type", "integer");
        ttl_element->SetText(ttl);
        if (!notes.empty()) host->InsertNewChildElement("notes")->SetText(notes.c_str());
        tinyxml2::XMLPrinter printer(nullptr, true);
        doc.Print(&printer);
        return printer.CStr();
    }

    // Zerigo's <errors><error>...</error></errors>, each message quoted.
    static std::string errors_of(const adf::http::Response &response) {
        tinyxml2::XMLDocument doc;
        std::string out;
        if (doc.Parse(response.body.data(), response.body.size()) == tinyxml2::XML_SUCCESS) {
            if (const auto *root = doc.FirstChildElement("errors")) {
                for (auto *e = root->FirstChildElement("error"); e != nullptr;
                     e = e->NextSiblingElement("error"))
                    if (e->GetText() != nullptr)
                        out += (out.empty() ? "" : "; ") + adf::http::excerpt(e->GetText(), 200);
            }
        }
        if (out.empty()) out = "HTTP 422 with " + adf::http::excerpt(response.body, 200);
        return out;
    }

    // GET `path` into `doc`; its <root_name> element, nullptr when Zerigo
    // answers 404 (no such host or zone).
    const tinyxml2::XMLElement *get_xml(tinyxml2::XMLDocument &doc, const std::string &path,
                                        const char *root_name) {
        const adf::http::Response response = call("GET", path, "");
        if (response.status == 404) return nullptr;
        require_success(response, "GET", path);
        const tinyxml2::XMLElement *root = nullptr;
        if (doc.Parse(response.body.data(), response.body.size()) == tinyxml2::XML_SUCCESS)
            root = doc.FirstChildElement(root_name);
        if (root == nullptr)
            throw adf::Error(ADF_FAILED, "GET " + url(path) + ": expected XML with a <" +
                                             root_name + "> element, got " +
                                             adf::http::excerpt(response.body, 120));
        return root;
    }

    void require_success(const adf::http::Response &response, const char *method,
                         const std::string &path) const {
        const long status = response.status;
        if (status >= 200 && status < 300) return;
        const std::string what = std::string(method) + " " + url(path);
        if (status == 401)
            throw adf::Error(ADF_FAILED,
                             what + ": authentication failed (check user and api_key)");
        const std::string detail = what + " answered HTTP " + std::to_string(status) + ": " +
                                   adf::http::excerpt(response.body, 200);
        if (status >= 500 || status == 429) throw adf::Error(ADF_TRANSIENT, detail);
        throw adf::Error(ADF_FAILED, detail);
    }

    // One API request; no answer at all is an error naming it.
    adf::http::Response call(const char *method, const std::string &path, const std::string &body) {
        adf::http::Request request;
        request.method = method;
        request.url = url(path);
        request.headers = {"Accept: application/xml", "Expect:",
                           "User-Agent: autodnsfailover-zerigo/1.0"};
        if (!body.empty()) {
            request.headers.push_back("Content-Type: application/xml");
            request.body = body;
        }
        request.basic_auth = user_ + ":" + api_key_;
        request.timeout = request_timeout_;
        request.max_body = kMaxBody;
        // The API is on the internet: a host that reaches it through the
        // proxy of its environment (https_proxy...) keeps doing so.
        request.use_proxy = true;
        adf::http::Response response = client_.perform(request);
        if (!response.answered()) throw response.failure(std::string(method) + " " + request.url);
        return response;
    }

    std::string url(const std::string &path) const { return endpoint_ + path; }

    adf::Host &host_;
    adf::http::Client client_;
    std::string user_;
    std::string api_key_;  // a secret: never logged, never part of a message
    std::string zone_;
    std::string endpoint_;
    uint32_t ttl_ = 60;
    double request_timeout_ = 10.0;
    std::optional<Zone> zone_info_;
};

}  // namespace

ADF_DNS_PLUGIN(Zerigo, "zerigo", "1.0.0",
               "A/AAAA records through the Zerigo DNS API 1.1 (notes kept; read-compare-write)");
