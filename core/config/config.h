// The daemon's configuration: one JSON file (comments allowed), validated as
// a whole before anything runs. Errors name the file and the JSON path
// ("/etc/autodnsfailover.json: safety.max_dead_fraction: expected a number
// from 0 to 1, got 2").
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <autodnsfailover/result.hpp>

#include "config/peers.h"
#include "config/string_source.h"
#include "dnsread/server.h"
#include "logging/log.h"

namespace adf::config {

// Bad configuration; what() is the full message, ready for the operator.
class ConfigError : public std::runtime_error {
   public:
    using std::runtime_error::runtime_error;
};

// One plugin slot ("dns", "check", ...): the plugin named by its "plugin" key
// and the rest of the section, handed to the plugin as its own config.
struct PluginSection {
    std::string slot;          // "dns": the JSON path of the section
    std::string plugin;        // a name ("zonefile") or a path to a .so
    nlohmann::json settings;   // the section without its "plugin" key
};

// "max_removals_per_round": "all": no limit of its own; the partition guard
// and min_records bound the removals of a round.
constexpr int kAllRemovals = std::numeric_limits<int>::max();

struct Safety {
    int min_records = 1;              // never leave fewer records than this (>= 1)
    int max_removals_per_round = kAllRemovals;  // per record set (name and family) and round
    double max_dead_fraction = 0.5;   // partition guard threshold, 0..1
    std::vector<std::string> witnesses;  // canonical addresses
    double self_check_failure_delay = 60;  // seconds before exiting after a failed self-check
};

// "read_from": each round's first read is a plain DNS query to these
// authoritative servers instead of a call to the dns plugin (writes, and the
// reads they are conditional on, still go through the plugin).
struct ReadFrom {
    std::vector<dnsread::Server> servers;  // asked in order; at least one
    double timeout = 2;                    // seconds per query
    bool tcp = false;                      // TCP only; else UDP, then TCP when truncated
};

// Which events a notification target takes: those at or above `level`,
// and, when `events` is not empty, only those kinds (by stable name; an
// error_ongoing or error_resolved summary counts as the kind it is about).
struct EventFilter {
    log::Level level = log::Level::Warning;
    std::vector<std::string> events;
};

// "notify.email[N]": mail over SMTP through libcurl.
struct EmailTarget {
    std::string server;              // "HOST" or "HOST:PORT" (25, 465 implicit TLS, 587)
    std::string tls = "starttls";    // "starttls" (required), "implicit" (smtps), "none"
    std::string username;            // AUTH when set
    std::string password;            // a secret: {"env"} / {"file"} resolved
    std::string from;
    std::vector<std::string> to;
    bool verify_tls = true;          // the server's certificate and name
    std::string ca_file;             // "" : the system's CAs
    double timeout = 10;             // seconds per delivery attempt
    EventFilter filter;
};

// "notify.webhooks[N]": a JSON POST (README "Webhooks": schema v1).
struct WebhookTarget {
    std::string url;                 // http:// or https://
    std::string hmac_key;            // a secret; empty: no signature header
    std::vector<std::pair<std::string, std::string>> headers;  // values may be secrets
    bool verify_tls = true;
    std::string ca_file;
    double timeout = 10;
    EventFilter filter;
};

struct Notify {
    std::string host;            // the host name in subjects and payloads ("" : this host's)
    double coalesce = 300;       // seconds: repeats of one event about one thing become one summary
    size_t queue_size = 256;     // messages waiting for delivery, at most
    unsigned attempts = 5;       // per message and target
    double retry_delay = 2;      // before the first retry; doubles, up to max_retry_delay
    double max_retry_delay = 300;
    std::vector<EmailTarget> email;
    std::vector<WebhookTarget> webhooks;
    bool any() const { return !email.empty() || !webhooks.empty(); }
};

// "metrics": Prometheus text exposition.
struct Metrics {
    std::optional<dnsread::Server> listen;  // absent: no HTTP listener
    std::string textfile;                   // "" : none; else rewritten after every round
};

// The default control socket (`status`): under the runtime directory the
// systemd unit creates (RuntimeDirectory=autodnsfailover).
constexpr const char *kDefaultControlSocket = "/run/autodnsfailover/control.sock";

// "control": the Unix socket `autodnsfailover status` asks.
struct Control {
    std::string socket = kDefaultControlSocket;  // "" : none (control.socket false)
    bool configured = false;  // named in the file: failing to open it is an error, not a warning
};

// "logging.heartbeat", "logging.summary_interval": how often the log speaks
// when nothing changes, and how often a persistent error is summarised.
struct Reporting {
    double heartbeat = 600;         // seconds; 0: no heartbeat
    double summary_interval = 600;  // seconds
};

struct Config {
    std::string source;                 // the file it was read from ("" for text)
    std::vector<std::string> fqdns;     // lower case, no trailing dot, at least one
    std::vector<std::string> plugin_dirs;  // as given; empty: the defaults
    PluginSection ipaddr;
    PluginSection dns;
    PluginSection check;
    PluginSection timer;
    Safety safety;
    std::string note = "{hostname}";    // note template: {hostname}, {fqdn}, {address}
    std::string hostname;               // this host's short name ("hostname" key, else the system's)
    std::string fqdn_hostname;          // what {hostname} stands for in fqdn: hostname, rewritten
    std::string hostname_rewrite;       // the sed-like rule that rewrote it ("" when none)
    int max_parallel_checks = 0;        // concurrent check attempts; 0: "auto" (every peer, capped)
    std::vector<int> families = {4, 6}; // which of A (4) and AAAA (6) to manage
    log::Options logging;
    std::optional<ReadFrom> read_from;  // absent: every read goes through the dns plugin
    Reporting reporting;
    Notify notify;
    Metrics metrics;
    Control control;
    // Removal by agreement between the daemons of the pool (README,
    // "Deciding together"); absent: each daemon decides alone.
    std::optional<Peers> peers;
};

// The config file is read whole and at most this big (1 MiB): a generous
// config with a thousand names is under 100 KB, and anything larger is a
// mistake (a log, a core dump, /dev/zero) to refuse before reading it.
constexpr std::size_t kMaxConfigBytes = std::size_t{1} << 20;

// Errors listed in one message; more are counted, so that a mistake
// repeated 100,000 times still gives a message an operator can read.
constexpr std::size_t kMaxErrorsListed = 100;

// `lines` joined by newlines, the first kMaxErrorsListed of them, then
// "... and N more errors" when there are more.
std::string join_errors(const std::vector<std::string> &lines);

// Parses and validates config text. `source` names it in errors.
Config parse(const std::string &text, const std::string &source);

// The same, but validation errors go to `errors` (one line each) instead of
// being thrown, and the config holds every value that was valid (defaults
// elsewhere), so that plugin sections can still be checked and every error
// reported at once. Text that is no JSON still throws.
Config parse(const std::string &text, const std::string &source,
             std::vector<std::string> &errors);

// Reads and parses a file; unreadable files are ConfigErrors too, and so is
// anything but a regular file of at most kMaxConfigBytes (a FIFO, a device,
// a directory) without blocking or reading it.
Config load_file(const std::string &path);
// The same, validation errors going to `errors` as with parse().
Config load_file(const std::string &path, std::vector<std::string> &errors);

// The note for a record: the template with {hostname} (`hostname`), {fqdn}
// and {address} replaced.
std::string render_note(const std::string &tmpl, const std::string &hostname,
                        const std::string &fqdn, const std::string &address);

// "safety.max_dead_fraction", "check.headers.Host", "fqdn[1]": the
// human form of a JSON pointer under `slot`, for error messages.
std::string display_path(const std::string &slot, const std::string &json_pointer);

// An object key as one JSON pointer token ("~" as "~0", "/" as "~1").
std::string pointer_token(const std::string &key);

}  // namespace adf::config
