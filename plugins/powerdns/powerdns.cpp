// powerdns: A/AAAA records through the PowerDNS Authoritative HTTP API
// (4.x, /api/v1, X-API-Key).
//
// One PATCH replaces a whole RRset, and PowerDNS has no conditional form of
// it, so add and remove re-read the zone just before writing and refuse
// (ADF_CONFLICT) when the served set differs from what the host expects.
// PowerDNS keeps comments per RRset, not per record: every record reads with
// the RRset's note, our own comment (account "autodnsfailover"), else the
// first comment; an add with a note replaces our comment and keeps others'.
//
// Reads take the whole zone: the rrset_name/rrset_type filter of 4.7 leaves
// out disabled records, and a REPLACE built from it would delete them. The
// zone is read strictly (powerdns_answer.cpp): a REPLACE built from a set
// misread as empty would delete every peer. An operation is one GET and at
// most one PATCH, each bounded by request_timeout.
#include <autodnsfailover/http.hpp>
#include <autodnsfailover/json.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "powerdns_answer.hpp"

namespace {

using adf::json::string_member;
using adf::record_sets::comparable_name;
using adf::record_sets::describe;
using nlohmann::json;
using powerdns::Comment;
using powerdns::Entry;
using powerdns::RRset;

constexpr std::size_t kMaxZoneBody = 64 * 1024 * 1024;  // a whole zone, rrsets and all

class PowerDns {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_NOTES;

    explicit PowerDns(adf::Host &host) : host_(host) {
        if (host.has("/endpoint"))
            endpoint_ = adf::http::url_setting(host, "/endpoint", "");
        else
            host.required_string("/endpoint",
                                 "the URL of the PowerDNS webserver, e.g. http://127.0.0.1:8081");
        // Accept the API's base URL as well as the webserver's.
        const std::string api_suffix = "/api/v1";
        if (endpoint_.size() >= api_suffix.size() &&
            endpoint_.compare(endpoint_.size() - api_suffix.size(), api_suffix.size(),
                              api_suffix) == 0)
            endpoint_.resize(endpoint_.size() - api_suffix.size());
        server_id_ = host.string("/server_id", "localhost");
        if (server_id_.empty()) host.config_error("/server_id", "must not be empty");
        zone_ = comparable_name(host.required_string("/zone", "the zone's name, e.g. example.com"));
        api_key_ = host.required_string("/api_key", "the api-key of the PowerDNS webserver");
        ttl_ = static_cast<uint32_t>(host.integer("/ttl", 60, 1, 2147483647));
        request_timeout_ = host.number("/request_timeout", 10.0, 0.1, 600.0);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        const RRset rrset = fetch(fqdn, family);
        const std::string note = rrset.note();
        for (const Entry &entry : rrset.entries) {
            if (entry.disabled) {
                host_.debug(describe(fqdn, family, entry.address) +
                            " is disabled in PowerDNS (not served): left out");
                continue;
            }
            sink.emit(entry.address, rrset.ttl, note);
        }
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        RRset rrset = fetch(fqdn, family);
        if (!adf::record_sets::should_add(host_, fqdn, family, expected, rrset.served(),
                                          record.address))
            return;
        for (const Entry &entry : rrset.entries)
            if (entry.address == record.address)  // there but not served: disabled
                throw adf::Error(ADF_FAILED,
                                 describe(fqdn, family, record.address) +
                                     " exists in PowerDNS but is disabled; someone took it out "
                                     "of service on purpose: enable or delete it there first");
        const uint32_t ttl = ttl_for(rrset, record.ttl, fqdn, family);
        rrset.entries.push_back({record.address, record.address, false});
        std::optional<json> comments;
        if (!record.note.empty())
            comments = powerdns::comments_json(comments_with_note(rrset.comments, record.note));
        replace(fqdn, family, ttl, rrset.entries, comments, "adding " + record.address);
        host_.info("added " + describe(fqdn, family, record.address) + " with TTL " +
                   std::to_string(ttl) +
                   (record.note.empty() ? "" : ", note \"" + record.note + "\""));
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        const RRset rrset = fetch(fqdn, family);
        if (!adf::record_sets::should_remove(host_, fqdn, family, expected, rrset.served(),
                                             address))
            return;
        std::vector<Entry> kept;  // disabled records stay as they are
        for (const Entry &entry : rrset.entries)
            if (entry.disabled || entry.address != address) kept.push_back(entry);
        replace(fqdn, family, rrset.ttl, kept, std::nullopt, "removing " + address);
        host_.info("removed " + describe(fqdn, family, address));
    }

    void validate_name(const std::string &fqdn) const { absolute_name(fqdn); }

   private:
    // The RRset's own TTL when it exists (a set has one TTL); for a new set
    // the host's (0 when it has none) or the configured default.
    uint32_t ttl_for(const RRset &rrset, uint32_t asked, const std::string &fqdn,
                     int family) const {
        if (!rrset.exists) return asked != 0 ? asked : ttl_;
        if (asked != 0 && asked != rrset.ttl)
            host_.debug(std::string("keeping the TTL ") + std::to_string(rrset.ttl) + " of " +
                        fqdn + " " + adf::record_type(family) + " rather than " +
                        std::to_string(asked));
        return rrset.ttl;
    }

    // Our one comment carries the note; other accounts' comments are kept.
    static std::vector<Comment> comments_with_note(const std::vector<Comment> &existing,
                                                   const std::string &note) {
        std::vector<Comment> out = {{note, powerdns::kCommentAccount, std::nullopt}};
        for (const Comment &comment : existing)
            if (comment.account != powerdns::kCommentAccount) out.push_back(comment);
        return out;
    }

    std::string zone_path() const {
        return "/api/v1/servers/" + adf::http::escape(server_id_) + "/zones/" +
               adf::http::escape(zone_ + ".");
    }

    // `fqdn` as PowerDNS names RRsets (lower case, trailing dot), provided
    // it is inside the zone.
    std::string absolute_name(const std::string &fqdn) const {
        return adf::record_sets::name_in_zone(fqdn, zone_) + ".";
    }

    RRset fetch(const std::string &fqdn, int family) {
        absolute_name(fqdn);  // refuses a name outside the zone before any request
        const std::string request = "GET " + endpoint_ + zone_path();
        const adf::http::Response response = call("GET", std::nullopt, request);
        adf::Result<RRset> rrset = powerdns::rrset_of_zone(response.body, fqdn, family);
        if (!rrset)
            throw adf::Error(ADF_FAILED, request + ": a malformed answer, nothing is trusted: " +
                                             rrset.reason());
        return std::move(rrset).value();
    }

    void replace(const std::string &fqdn, int family, uint32_t ttl,
                 const std::vector<Entry> &entries, const std::optional<json> &comments,
                 const std::string &what) {
        json records = json::array();
        for (const Entry &entry : entries)
            records.push_back({{"content", entry.content}, {"disabled", entry.disabled}});
        json rrset = {{"name", absolute_name(fqdn)},
                      {"type", adf::record_type(family)},
                      {"ttl", ttl},
                      {"changetype", "REPLACE"},
                      {"records", records}};
        if (comments) rrset["comments"] = *comments;
        const json body = {{"rrsets", json::array({rrset})}};
        call("PATCH", body.dump(),
             "PATCH " + endpoint_ + zone_path() + " (" + what + " " + fqdn + " " +
                 adf::record_type(family) + ")");
    }

    // One API request; any answer but 2xx becomes an error naming it.
    adf::http::Response call(const char *method, const std::optional<std::string> &body,
                             const std::string &request) {
        adf::http::Request r;
        r.method = method;
        r.url = endpoint_ + zone_path();
        r.headers = {"X-API-Key: " + api_key_, "Accept: application/json"};
        if (body) r.headers.push_back("Content-Type: application/json");
        r.body = body;
        r.timeout = request_timeout_;
        r.max_body = kMaxZoneBody;
        const adf::http::Response response = client_.perform(r);
        if (!response.answered()) throw response.failure(request);
        host_.debug(request + " -> HTTP " + std::to_string(response.status));
        require_success(response, request);
        return response;
    }

    void require_success(const adf::http::Response &response, const std::string &request) const {
        const long status = response.status;
        if (status >= 200 && status < 300) return;
        const std::string answered = request + " answered HTTP " + std::to_string(status);
        if (status == 401)
            throw adf::Error(ADF_FAILED,
                             "PowerDNS API key rejected (key \"api_key\"): " + answered);
        if (status == 404)
            throw adf::Error(ADF_FAILED, "zone \"" + zone_ + ".\" not found on PowerDNS server \"" +
                                             server_id_ + "\" (keys \"zone\", \"server_id\"): " +
                                             answered);
        const std::string detail = answered + ": " + error_of(response);
        if (status == 422)
            throw adf::Error(ADF_FAILED, "PowerDNS refused the change: " + detail);
        if (status >= 500 || status == 429) throw adf::Error(ADF_TRANSIENT, detail);
        throw adf::Error(ADF_FAILED, detail);
    }

    // PowerDNS's {"error": "..."} quoted, else an excerpt of the body.
    static std::string error_of(const adf::http::Response &response) {
        const adf::Result<json> body = adf::json::parse(response.body);
        const std::string error = body ? string_member(*body, "error") : "";
        if (!error.empty()) return adf::http::excerpt(error, 300);
        return adf::http::excerpt(response.body, 200);
    }

    adf::Host &host_;
    adf::http::Client client_;
    std::string endpoint_;
    std::string server_id_;
    std::string zone_;     // lower case, without the trailing dot
    std::string api_key_;  // a secret: never logged, never part of a message
    uint32_t ttl_ = 60;
    double request_timeout_ = 10.0;
};

}  // namespace

ADF_DNS_PLUGIN(PowerDns, "powerdns", "1.0.0",
               "A/AAAA records through the PowerDNS Authoritative HTTP API (RRset comments as "
               "notes; read-compare-write)");
