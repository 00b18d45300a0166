// zerigo: A/AAAA records through the Zerigo DNS REST API 1.1 (XML over
// HTTPS, Basic auth), the seed's reference DNS backend.
//
// Zerigo has no conditional update, so add and remove re-read the set just
// before writing and refuse (ADF_CONFLICT) when it differs from what the host
// expects. Reads use GET /hosts.xml?fqdn=, never the zone listing, which
// leaves out the hosts of zones with over 300 of them, and are strict
// (zerigo_xml.cpp): a malformed answer fails the read. Each operation has a
// deadline (operation_timeout) on top of each request's timeout.
#include <tinyxml2.h>

#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "zerigo_xml.hpp"

namespace {

using adf::record_sets::addresses_of;
using adf::record_sets::comparable_name;
using adf::record_sets::describe;

constexpr std::size_t kMaxBody = 16 * 1024 * 1024;
constexpr const char *kDefaultEndpoint = "https://ns.zerigo.com/api/1.1/";

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
        operation_timeout_ = host.number("/operation_timeout", 30.0, 0.1, 3600.0);
    }

    void validate_name(const std::string &fqdn) const { hostname_of(fqdn); }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        adf::http::Deadline deadline(operation_timeout_);
        for (const Entry &entry : fetch(fqdn, family, deadline))
            sink.emit(entry.address, entry.ttl, entry.notes);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        adf::http::Deadline deadline(operation_timeout_);
        const std::string hostname = hostname_of(fqdn);
        const std::set<std::string> current = addresses_of(fetch(fqdn, family, deadline));
        if (!adf::record_sets::should_add(host_, fqdn, family, expected, current, record.address))
            return;
        // The host passes the set's TTL (records of a set share one, RFC
        // 2181), or 0 for a first record: then the configured default.
        const uint32_t ttl = record.ttl != 0 ? record.ttl : ttl_;
        const std::string path = "zones/" + std::to_string(zone(deadline).id) + "/hosts.xml";
        const adf::http::Response response = call(
            "POST", path, host_xml(hostname, family, record.address, ttl, record.note), deadline);
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
        adf::http::Deadline deadline(operation_timeout_);
        const std::vector<Entry> current = fetch(fqdn, family, deadline);
        if (!adf::record_sets::should_remove(host_, fqdn, family, expected, addresses_of(current),
                                             address))
            return;
        for (const Entry &entry : current)
            if (entry.address == address)
                delete_host(entry.id, describe(fqdn, family, address), deadline);
    }

   private:
    // One host record of Zerigo with the TTL it has in effect.
    struct Entry {
        long id = 0;
        std::string address;  // canonical
        uint32_t ttl = 0;
        std::string notes;
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
    std::vector<Entry> fetch(const std::string &fqdn, int family, const adf::http::Deadline &deadline) {
        hostname_of(fqdn);  // refuses a name outside the zone before any request
        const std::string path = "hosts.xml?fqdn=" + adf::http::escape(comparable_name(fqdn));
        const std::optional<std::string> body = get_xml(path, deadline);
        if (!body) return {};
        adf::Result<std::vector<zerigo::Host>> hosts =
            zerigo::hosts_of_answer(*body, fqdn, zone_, family);
        if (!hosts)
            throw adf::Error(ADF_FAILED, "GET " + url(path) +
                                             ": a malformed answer, nothing is trusted: " +
                                             hosts.reason());
        std::vector<Entry> entries;
        for (const zerigo::Host &host : *hosts) {
            // A host without its own TTL uses the zone's default TTL.
            const uint32_t ttl =
                host.ttl ? *host.ttl : zone(deadline).default_ttl.value_or(ttl_);
            entries.push_back({host.id, host.address, ttl, host.notes});
        }
        return entries;
    }

    // Zerigo's zone id (for creating hosts), looked up once.
    const zerigo::Zone &zone(const adf::http::Deadline &deadline) {
        if (zone_info_) return *zone_info_;
        const std::string path = "zones/" + adf::http::escape(zone_) + ".xml";
        const std::optional<std::string> body = get_xml(path, deadline);
        if (!body)
            throw adf::Error(ADF_FAILED, "the zone \"" + zone_ +
                                             "\" (key \"zone\") does not exist in this Zerigo "
                                             "account: GET " + url(path) + " answered 404");
        adf::Result<zerigo::Zone> zone = zerigo::zone_of_answer(*body);
        if (!zone) throw adf::Error(ADF_FAILED, "GET " + url(path) + ": " + zone.reason());
        zone_info_ = *zone;
        host_.debug("zone " + zone_ + " has Zerigo id " + std::to_string(zone->id));
        return *zone_info_;
    }

    void delete_host(long id, const std::string &what, const adf::http::Deadline &deadline) {
        const std::string path = "hosts/" + std::to_string(id) + ".xml";
        const adf::http::Response response = call("DELETE", path, "", deadline);
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

    // The body of GET `path`; nothing when Zerigo answers 404 (no such host
    // or zone).
    std::optional<std::string> get_xml(const std::string &path, const adf::http::Deadline &deadline) {
        adf::http::Response response = call("GET", path, "", deadline);
        if (response.status == 404) return std::nullopt;
        require_success(response, "GET", path);
        return std::move(response.body);
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

    // One API request within the operation's deadline; no answer at all is
    // an error naming it.
    adf::http::Response call(const char *method, const std::string &path, const std::string &body,
                             const adf::http::Deadline &deadline) {
        adf::http::Request request;
        request.method = method;
        request.url = url(path);
        request.timeout = deadline.request_timeout(request_timeout_, std::string(method) + " " + request.url);
        request.headers = {"Accept: application/xml", "Expect:",
                           "User-Agent: autodnsfailover-zerigo/1.0"};
        if (!body.empty()) {
            request.headers.push_back("Content-Type: application/xml");
            request.body = body;
        }
        request.basic_auth = user_ + ":" + api_key_;
        request.max_body = kMaxBody;
        // The API is on the internet: a host that reaches it through the
        // proxy of its environment (https_proxy...) keeps doing so.
        request.use_proxy = true;
        adf::http::Response response = client_.perform(request);
        if (!response.answered())
            throw deadline.failure(response, std::string(method) + " " + request.url);
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
    double operation_timeout_ = 30.0;
    std::optional<zerigo::Zone> zone_info_;
};

}  // namespace

ADF_DNS_PLUGIN(Zerigo, "zerigo", "1.0.0",
               "A/AAAA records through the Zerigo DNS API 1.1 (notes kept; read-compare-write)");
