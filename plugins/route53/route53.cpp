// route53: A/AAAA records in an AWS Route 53 hosted zone.
//
// Reads fetch one record set (ListResourceRecordSets with maxitems=1, whose
// start-from answer is checked to be the set asked for). Writes are one
// atomic ChangeResourceRecordSets batch: DELETE of the exact set the host
// read (name, type, TTL, every value) plus CREATE of the new set. Route 53
// refuses the whole batch when the DELETE does not match, which makes every
// add and remove a compare-and-swap (ADF_DNS_ATOMIC_CAS).
#include <autodnsfailover/http.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "credentials.hpp"
#include "route53_api.hpp"
#include "route53_xml.hpp"

namespace {

using route53::Answer;
using route53::Change;
using route53::RecordSet;

constexpr const char *kApiPrefix = "/2013-04-01";

std::optional<std::string> non_empty_env(const char *name) {
    const char *value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
}

route53::ApiSettings api_settings(adf::Host &host) {
    route53::ApiSettings settings;
    settings.endpoint = adf::http::url_setting(host, "/endpoint", settings.endpoint);
    settings.request_timeout = host.number("/request_timeout", settings.request_timeout, 0.1, 600.0);
    settings.max_retry_time = host.number("/max_retry_time", settings.max_retry_time, 0.0, 3600.0);
    return settings;
}

// Config keys first, then the AWS_* environment, then the instance role.
route53::CredentialSource credential_source(adf::Host &host) {
    const auto key = host.string("/access_key_id");
    const auto secret = host.string("/secret_access_key");
    const auto token = host.string("/session_token");
    adf_aws::ImdsSettings metadata;
    metadata.endpoint = adf::http::url_setting(host, "/metadata_endpoint", metadata.endpoint);

    // has(), not the values: a key whose {"file"} is unreadable is an error
    // of its own already, not a missing key.
    const bool has_key = host.has("/access_key_id"), has_secret = host.has("/secret_access_key");
    if (has_key || has_secret) {
        if (!has_key) host.config_error("/access_key_id", "required when secret_access_key is set");
        if (!has_secret)
            host.config_error("/secret_access_key", "required when access_key_id is set");
        return route53::CredentialSource({key.value_or(""), secret.value_or(""), token.value_or("")},
                                         "the config keys access_key_id and secret_access_key");
    }
    if (host.has("/session_token"))
        host.config_error("/session_token",
                          "only used together with access_key_id and secret_access_key");
    const auto env_key = non_empty_env("AWS_ACCESS_KEY_ID");
    const auto env_secret = non_empty_env("AWS_SECRET_ACCESS_KEY");
    if (env_key && env_secret)
        return route53::CredentialSource(
            {*env_key, *env_secret, non_empty_env("AWS_SESSION_TOKEN").value_or("")},
            "the environment (AWS_ACCESS_KEY_ID)");
    if (env_key || env_secret)
        host.config_error("/access_key_id",
                          std::string("not set, and the environment has ") +
                              (env_key ? "AWS_ACCESS_KEY_ID without AWS_SECRET_ACCESS_KEY"
                                       : "AWS_SECRET_ACCESS_KEY without AWS_ACCESS_KEY_ID") +
                              ": set both or neither");
    return route53::CredentialSource(metadata);
}

// Addresses in numeric order, the order the host reads them in: a set is
// always written the same way (moto even compares DELETEs in order).
std::vector<std::string> numerically_sorted(std::vector<std::string> addresses, int family) {
    const int af = family == ADF_FAMILY_IPV6 ? AF_INET6 : AF_INET;
    const auto bytes = [af](const std::string &address) {
        std::string out(16, '\0');
        inet_pton(af, address.c_str(), out.data());
        return out;
    };
    std::sort(addresses.begin(), addresses.end(),
              [&](const std::string &a, const std::string &b) { return bytes(a) < bytes(b); });
    return addresses;
}

bool contains(const std::vector<adf::Record> &records, const std::string &address) {
    return std::any_of(records.begin(), records.end(),
                       [&](const adf::Record &r) { return r.address == address; });
}

class Route53 {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_ATOMIC_CAS;

    explicit Route53(adf::Host &host)
        : host_(host), api_(api_settings(host), credential_source(host), host) {
        const auto id = host.string("/hosted_zone_id");
        const auto zone = host.string("/zone");
        default_ttl_ = static_cast<uint32_t>(host.integer("/ttl", 60, 1, 2147483647));
        if (host.has("/hosted_zone_id") && host.has("/zone"))
            host.config_error("/zone", "set either hosted_zone_id or zone, not both");
        else if (!host.has("/hosted_zone_id") && !host.has("/zone"))
            host.config_error("/hosted_zone_id",
                              "required: the hosted zone's id (\"Z0123...\"), or instead zone: "
                              "its name, looked up once");
        else if (id && !route53::is_zone_id(route53::bare_zone_id(*id)))
            host.config_error("/hosted_zone_id",
                              "expected a hosted zone's id, capital letters and digits such as "
                              "\"Z0123456789ABCDEFGHIJ\" (\"/hostedzone/\" before it is allowed), "
                              "got " + adf::excerpt(*id, 60));
        else if (zone && route53::normalized_name(*zone).empty())
            host.config_error("/zone", "is empty");
        if (id) zone_id_ = route53::bare_zone_id(*id);
        if (zone) zone_name_ = route53::normalized_name(*zone);
        host.debug("AWS credentials come from " + api_.credentials_origin());
    }

    // With "zone" set, names outside it are refused at once; a hosted zone
    // given by id names no zone until asked.
    void validate_name(const std::string &fqdn) const {
        if (!zone_name_.empty()) adf::record_sets::name_in_zone(fqdn, zone_name_);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        const std::string type = adf::record_type(family);
        const std::optional<RecordSet> set = read_set(fqdn, family);
        std::map<std::string, std::string> &spelling = spellings_[spelling_key(fqdn, type)];
        spelling.clear();
        if (!set) return;
        for (const std::string &value : set->values) {
            sink.emit(value, set->ttl);
            if (auto canonical = adf::canonical_address(value, family)) spelling[*canonical] = value;
        }
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        if (contains(expected, record.address)) return;
        const std::string type = adf::record_type(family);
        std::vector<Change> changes;
        uint32_t ttl = record.ttl != 0 ? record.ttl : default_ttl_;
        if (!expected.empty()) {
            ttl = expected.front().ttl;  // keep the set's TTL
            changes.push_back({"DELETE", set_of(fqdn, type, ttl, addresses(expected))});
        }
        std::vector<std::string> wanted = addresses(expected);
        wanted.push_back(record.address);
        changes.push_back({"CREATE", set_of(fqdn, type, ttl, numerically_sorted(wanted, family))});
        write(fqdn, type, changes, "add " + record.address + " to " + fqdn + " " + type);
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        remove_many(fqdn, family, expected, {address});
    }

    // One change batch whatever the number of addresses: Route 53 applies
    // the DELETE of the set read and the CREATE of what is left together,
    // or refuses both when the set moved.
    void remove_many(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                     const std::vector<std::string> &removed) {
        std::vector<std::string> wanted, going;
        for (const adf::Record &r : expected)
            (std::find(removed.begin(), removed.end(), r.address) != removed.end() ? going : wanted)
                .push_back(r.address);
        if (going.empty()) return;
        // Never a DELETE alone: the batch is conditional on `expected`, and
        // without a CREATE it would empty the name (the host never asks for
        // that; a direct caller might).
        adf::record_sets::refuse_emptying(fqdn, family, going,
                                          adf::record_sets::addresses_of(expected));
        const std::string type = adf::record_type(family);
        const uint32_t ttl = expected.front().ttl;
        const std::vector<Change> changes = {
            {"DELETE", set_of(fqdn, type, ttl, addresses(expected))},
            {"CREATE", set_of(fqdn, type, ttl, wanted)}};
        std::string listed;
        for (const auto &address : going) listed += (listed.empty() ? "" : ", ") + address;
        write(fqdn, type, changes, "remove " + listed + " from " + fqdn + " " + type);
    }

   private:
    std::string zone_path() { return std::string(kApiPrefix) + "/hostedzone/" + zone_id(); }

    // The configured id, or the id of the zone named `zone`, looked up once.
    const std::string &zone_id() {
        if (!zone_id_.empty()) return zone_id_;
        const std::string what = "looking up the hosted zone named \"" + zone_name_ + "\" (zone)";
        const Answer answer =
            api_.send("GET", std::string(kApiPrefix) + "/hostedzonesbyname?dnsname=" +
                                 adf::http::escape(zone_name_ + ".") + "&maxitems=2");
        if (!answer.ok()) throw api_.failure(what, answer);
        std::vector<std::string> matches;
        for (const route53::HostedZone &zone : trusted(what, route53::hosted_zones(answer.body)))
            if (route53::normalized_name(zone.name) == zone_name_) matches.push_back(zone.id);
        if (matches.empty())
            throw adf::Error(ADF_FAILED, "no hosted zone is named \"" + zone_name_ + "\" (zone) at " +
                                             api_.endpoint());
        if (matches.size() > 1)
            throw adf::Error(ADF_FAILED, "several hosted zones are named \"" + zone_name_ +
                                             "\" (a public and a private one?): set hosted_zone_id "
                                             "instead of zone");
        zone_id_ = matches.front();
        host_.info("zone \"" + zone_name_ + "\" is hosted zone " + zone_id_);
        return zone_id_;
    }

    // The set of exactly `fqdn` and `family`, or nothing when there is none.
    std::optional<RecordSet> read_set(const std::string &fqdn, int family) {
        const std::string path = zone_path();
        const std::string type = adf::record_type(family);
        const std::string what = "reading the " + type + " records of " + fqdn + " in hosted zone " +
                                 zone_id_;
        const Answer answer = api_.send("GET", path + "/rrset?maxitems=1&name=" +
                                                   adf::http::escape(fqdn + ".") +
                                                   "&type=" + type);
        if (!answer.ok()) throw api_.failure(what, answer);
        return trusted(what, route53::record_set_of_answer(answer.body, fqdn, family));
    }

    void write(const std::string &fqdn, const std::string &type, const std::vector<Change> &changes,
               const std::string &what) {
        const std::string path = zone_path() + "/rrset/";
        const Answer answer = api_.send(
            "POST", path, route53::change_batch_request(changes, "autodnsfailover: " + what));
        if (answer.ok()) {
            // The change is made: an odd confirmation is only worth a note.
            const adf::Result<std::string> change = route53::change_id(answer.body);
            host_.debug(what + ": change " + (change ? *change : "with an unreadable answer: " +
                                                                     change.reason()));
            return;
        }
        // AWS answers InvalidChangeBatch when the DELETE no longer matches (or
        // a first CREATE finds a set already there); moto says InvalidInput.
        const bool has_delete = changes.front().action == std::string("DELETE");
        if (answer.error && (answer.error->code == "InvalidChangeBatch" ||
                             (answer.error->code == "InvalidInput" && has_delete)))
            throw adf::Error(ADF_CONFLICT, api_.redact("the record set " + fqdn + " " + type +
                                                       " changed since it was read; nothing was "
                                                       "changed (" + answer.error_text() + ")"));
        throw api_.failure(what, answer);
    }

    // A set to send: values spelled as Route 53 returned them, so that a
    // DELETE matches even when Route 53 keeps an address non-canonical.
    RecordSet set_of(const std::string &fqdn, const std::string &type, uint32_t ttl,
                     const std::vector<std::string> &wanted) const {
        RecordSet set{fqdn + ".", type, ttl, {}, {}, false};
        const auto known = spellings_.find(spelling_key(fqdn, type));
        for (const std::string &address : wanted) {
            std::string value = address;
            if (known != spellings_.end()) {
                const auto spelled = known->second.find(address);
                if (spelled != known->second.end()) value = spelled->second;
            }
            set.values.push_back(value);
        }
        return set;
    }

    static std::vector<std::string> addresses(const std::vector<adf::Record> &records) {
        std::vector<std::string> out;
        for (const adf::Record &r : records) out.push_back(r.address);
        return out;
    }

    static std::string spelling_key(const std::string &fqdn, const std::string &type) {
        return route53::normalized_name(fqdn) + " " + type;
    }

    // The value of a reader of Route 53's XML, or ADF_FAILED naming the call
    // and quoting why its answer cannot be trusted.
    template <class T>
    T trusted(const std::string &what, adf::Result<T> parsed) const {
        if (!parsed)
            throw adf::Error(ADF_FAILED, api_.redact("Route 53 at " + api_.endpoint() +
                                                     " answered " + what +
                                                     " with a document this plugin cannot "
                                                     "trust: " + parsed.reason()));
        return std::move(parsed).value();
    }

    adf::Host &host_;
    route53::Api api_;
    std::string zone_id_;
    std::string zone_name_;
    uint32_t default_ttl_ = 60;
    // Per "fqdn TYPE": canonical address -> the value as Route 53 spelled it.
    std::map<std::string, std::map<std::string, std::string>> spellings_;
};

}  // namespace

ADF_DNS_PLUGIN(Route53, "route53", "1.0.0",
               "A/AAAA records in an AWS Route 53 hosted zone (atomic compare-and-swap)");
