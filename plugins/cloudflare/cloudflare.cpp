// cloudflare: A/AAAA records through the Cloudflare API v4 (JSON, bearer
// token), one DNS record per address, the note in the record's comment.
//
// Cloudflare has no conditional write, so add and remove re-read the name's
// records (every page) just before writing and refuse (ADF_CONFLICT) when
// they differ from what the host expects. Throttling (429, after 1,200
// requests in 5 minutes per user) and server errors are retried with
// exponential backoff and jitter, honouring Retry-After, for at most
// max_retry_time seconds per operation; then the operation is transient.
// Listings are read strictly (cloudflare_answer.cpp), and every operation,
// pages and retries included, ends within operation_timeout.
#include <autodnsfailover/backoff.hpp>
#include <autodnsfailover/http.hpp>
#include <autodnsfailover/json.hpp>
#include <autodnsfailover/plugin.hpp>
#include <autodnsfailover/record_sets.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cloudflare_answer.hpp"

namespace {

using adf::Backoff;
using adf::json::string_member;
using adf::record_sets::addresses_of;
using adf::record_sets::comparable_name;
using adf::record_sets::describe;
using nlohmann::json;

constexpr const char *kDefaultEndpoint = "https://api.cloudflare.com/client/v4";
constexpr int kPerPage = 100;
constexpr long kIdenticalRecordExists = 81058;  // error code of a duplicate create
// Delays between 0.5 and 8 s bounds, each at least half its bound.
const adf::BackoffPolicy kRetryPolicy = {0.5, 8.0, 0.5};

using cloudflare::Entry;

bool is_zone_id(const std::string &text) {
    return text.size() == 32 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool has_error_code(const json &envelope, long code) {
    if (!envelope.is_object() || !envelope.contains("errors") || !envelope["errors"].is_array())
        return false;
    for (const json &error : envelope["errors"])
        if (error.is_object() && error.contains("code") && error["code"].is_number_integer() &&
            error["code"].get<long>() == code)
            return true;
    return false;
}

// Cloudflare's errors[] as "[code] message; [code] message".
std::string errors_of(const json &envelope) {
    std::string out;
    const auto errors = envelope.is_object() ? envelope.find("errors") : envelope.end();
    if (errors != envelope.end() && errors->is_array()) {
        for (const json &error : *errors) {
            std::string code;
            if (error.is_object() && error.contains("code") && error["code"].is_number_integer())
                code = "[" + std::to_string(error["code"].get<long>()) + "] ";
            out += (out.empty() ? "" : "; ") + code +
                   adf::http::excerpt(string_member(error, "message"), 200);
        }
    }
    return out;
}

class Cloudflare {
   public:
    static constexpr uint32_t capabilities = ADF_DNS_NOTES;

    explicit Cloudflare(adf::Host &host) : host_(host), random_(std::random_device{}()) {
        endpoint_ = adf::http::url_setting(host, "/endpoint", kDefaultEndpoint);
        zone_id_ = host.required_string(
            "/zone_id", "the zone's ID (32 hexadecimal digits, on the zone's Overview page)");
        if (!zone_id_.empty() && !is_zone_id(zone_id_))
            host.config_error("/zone_id", "expected the zone's ID, 32 hexadecimal digits (on the "
                                          "zone's Overview page), got \"" + zone_id_ + "\"");
        api_token_ = host.required_string(
            "/api_token", "an API token with the Zone.DNS Edit permission for the zone");
        const int64_t ttl = host.integer("/ttl", 60, 1, 86400);
        if (ttl > 1 && ttl < 60)
            host.config_error("/ttl", "expected 1 (automatic) or 60 to 86400 seconds, got " +
                                          std::to_string(ttl));
        ttl_ = static_cast<uint32_t>(ttl);
        request_timeout_ = host.number("/request_timeout", 10.0, 0.1, 600.0);
        max_retry_time_ = host.number("/max_retry_time", 20.0, 0.0, 3600.0);
        operation_timeout_ = host.number("/operation_timeout", 60.0, 0.1, 3600.0);
    }

    void read(const std::string &fqdn, int family, adf::RecordSink &sink) {
        Operation op(*this);
        for (const Entry &entry : fetch(fqdn, family, op))
            sink.emit(entry.address, entry.ttl, entry.comment);
    }

    void add(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
             const adf::Record &record) {
        Operation op(*this);
        const std::set<std::string> current = addresses_of(fetch(fqdn, family, op));
        if (!adf::record_sets::should_add(host_, fqdn, family, expected, current, record.address))
            return;
        // The host passes the set's TTL, or 0 for a first record.
        const uint32_t ttl = record.ttl != 0 ? record.ttl : ttl_;
        json body = {{"type", adf::record_type(family)},
                     {"name", name_of(fqdn)},
                     {"content", record.address},
                     {"ttl", ttl},
                     {"proxied", false}};
        if (!record.note.empty()) body["comment"] = record.note;
        const std::string what = "adding " + describe(fqdn, family, record.address);
        const Answer answer = send("POST", records_path(), body.dump(), what, op);
        // A retried POST whose first try was applied despite its 5xx: the
        // record is there, which is what was asked.
        if (answer.status == 400 && has_error_code(answer.envelope, kIdenticalRecordExists)) {
            host_.info(describe(fqdn, family, record.address) +
                       " exists already (an earlier attempt or someone else created it)");
            return;
        }
        const json created = expect_success(answer, what);
        host_.info("added " + describe(fqdn, family, record.address) + " with TTL " +
                   std::to_string(ttl) +
                   (record.note.empty() ? "" : ", comment \"" + record.note + "\"") + " (record " +
                   adf::excerpt(string_member(created.value("result", json()), "id"), 40) + ")");
    }

    void remove(const std::string &fqdn, int family, const std::vector<adf::Record> &expected,
                const std::string &address) {
        Operation op(*this);
        const std::vector<Entry> current = fetch(fqdn, family, op);
        if (!adf::record_sets::should_remove(host_, fqdn, family, expected, addresses_of(current),
                                             address))
            return;
        for (const Entry &entry : current)
            if (entry.address == address)
                delete_record(entry.id, describe(fqdn, family, address), op);
    }

   private:
    // The limits of one whole operation: its deadline, and the budget of its
    // retries, which ends no later.
    struct Operation {
        explicit Operation(Cloudflare &plugin)
            : deadline(plugin.operation_timeout_),
              backoff(std::min(plugin.max_retry_time_, plugin.operation_timeout_), plugin.random_,
                      kRetryPolicy) {}
        adf::http::Deadline deadline;
        Backoff backoff;
    };

    std::string records_path() const {
        return "/zones/" + adf::http::escape(zone_id_) + "/dns_records";
    }

    // The record name Cloudflare writes: lower case, no trailing dot.
    static std::string name_of(const std::string &fqdn) { return comparable_name(fqdn); }

    // Every record of the name and type, page after page, within the
    // operation's deadline whatever the number of pages claimed.
    std::vector<Entry> fetch(const std::string &fqdn, int family, Operation &op) {
        const std::string name = name_of(fqdn);
        const std::string type = adf::record_type(family);
        std::vector<Entry> entries;
        std::set<std::string> ids;  // a record that moved to the next page is read once
        long total_pages = 1;
        for (long page = 1; page <= total_pages; ++page) {
            const std::string path = records_path() + "?type=" + type +
                                     "&name=" + adf::http::escape(name) +
                                     "&per_page=" + std::to_string(kPerPage) +
                                     "&page=" + std::to_string(page);
            const std::string what = "listing the " + type + " records of " + fqdn + " (page " +
                                     std::to_string(page) + " of " + std::to_string(total_pages) +
                                     ")";
            const json envelope = call("GET", path, std::nullopt, what, op);
            adf::Result<cloudflare::Page> listed =
                cloudflare::page_of_envelope(envelope, fqdn, family);
            if (!listed)
                throw adf::Error(ADF_FAILED, "GET " + endpoint_ + path +
                                                 ": a malformed answer, nothing is trusted: " +
                                                 listed.reason());
            for (Entry &entry : listed->entries)
                if (ids.insert(entry.id).second) entries.push_back(std::move(entry));
            if (listed->entries.empty()) break;
            total_pages = listed->total_pages;
        }
        return entries;
    }

    void delete_record(const std::string &id, const std::string &what, Operation &op) {
        const std::string path = records_path() + "/" + adf::http::escape(id);
        const Answer answer = send("DELETE", path, std::nullopt, "removing " + what, op);
        if (answer.status == 404) {
            // Gone already: a retried DELETE whose first try was applied, or
            // someone else's removal.
            host_.info(what + " (record " + adf::excerpt(id, 40) +
                       ") was already gone when deleting it");
            return;
        }
        expect_success(answer, "removing " + what);
        host_.info("removed " + what + " (record " + adf::excerpt(id, 40) + ")");
    }

    // An answer that was not retried away: status and parsed body.
    struct Answer {
        std::string request;  // "METHOD URL", for messages
        long status = 0;
        std::string body;
        json envelope;  // null when the body is not JSON
    };

    json call(const char *method, const std::string &path, const std::optional<std::string> &body,
              const std::string &what, Operation &op) {
        return expect_success(send(method, path, body, what, op), what);
    }

    // The body as JSON (depth-limited), or null when it is not JSON.
    static json envelope_of(const std::string &body) {
        adf::Result<json> parsed = adf::json::parse(body);
        return parsed ? std::move(parsed).value() : json();
    }

    // One API request, retried on 429 and 5xx within the operation's budget.
    Answer send(const char *method, const std::string &path,
                const std::optional<std::string> &body, const std::string &what, Operation &op) {
        const std::string request = std::string(method) + " " + endpoint_ + path;
        for (bool first = true;; first = false) {
            adf::http::Request r;
            r.method = method;
            r.url = endpoint_ + path;
            r.headers = {"Authorization: Bearer " + api_token_, "Accept: application/json"};
            if (body) r.headers.push_back("Content-Type: application/json");
            r.body = body;
            // A retry only gets what is left of the budget, and no request
            // runs past the operation's deadline.
            r.timeout = op.deadline.request_timeout(
                first ? request_timeout_ : op.backoff.retry_timeout(request_timeout_), what);
            const adf::http::Response response = client_.perform(r);
            if (!response.answered())
                throw op.deadline.failure(response, request + " (" + what + ")");
            host_.debug(request + " -> HTTP " + std::to_string(response.status));
            const long status = response.status;
            if (status == 429 || status >= 500) {
                wait_before_retry(response, request, op.backoff);
                continue;
            }
            return {request, status, response.body, envelope_of(response.body)};
        }
    }

    void wait_before_retry(const adf::http::Response &response, const std::string &request,
                           Backoff &backoff) {
        std::string reason = request + " answered HTTP " + std::to_string(response.status);
        const std::string errors = errors_of(envelope_of(response.body));
        if (!errors.empty()) reason += " (" + errors + ")";
        const std::string retry_after = response.header("retry-after").value_or("");
        backoff.wait_or_give_up(host_, reason, adf::retry_after_seconds(retry_after));
    }

    // The envelope {success, errors, messages, result, result_info} of an
    // answer; anything but success becomes an error quoting errors[].
    static json expect_success(const Answer &answer, const std::string &what) {
        const long status = answer.status;
        const json &envelope = answer.envelope;
        const bool success = envelope.is_object() && envelope.value("success", false) == true;
        if (status >= 200 && status < 300 && success) return envelope;
        std::string detail = errors_of(envelope);
        if (detail.empty()) detail = adf::http::excerpt(answer.body, 200);
        const std::string answered =
            answer.request + " answered HTTP " + std::to_string(status) + ": " + detail;
        if (status == 401 || status == 403)
            throw adf::Error(ADF_FAILED,
                             "Cloudflare API token rejected or lacks DNS edit permission for the "
                             "zone (keys \"api_token\", \"zone_id\"): " + answered);
        throw adf::Error(ADF_FAILED, "Cloudflare refused " + what + ": " + answered);
    }

    adf::Host &host_;
    adf::http::Client client_;
    std::mt19937 random_;  // backoff jitter
    std::string endpoint_;
    std::string zone_id_;
    std::string api_token_;  // a secret: never logged, never part of a message
    uint32_t ttl_ = 60;
    double request_timeout_ = 10.0;
    double max_retry_time_ = 20.0;
    double operation_timeout_ = 60.0;
};

}  // namespace

ADF_DNS_PLUGIN(Cloudflare, "cloudflare", "1.0.0",
               "A/AAAA records through the Cloudflare API v4 (comments as notes; "
               "read-compare-write, backoff on 429)");
