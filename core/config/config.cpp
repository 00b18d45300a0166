#include "config/config.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <map>
#include <set>

#include <autodnsfailover/json.hpp>
#include <autodnsfailover/posix.hpp>
#include <fmt/format.h>

#include "config/hostname.h"
#include "config/string_source.h"
#include "config/validator.h"
#include "events/event.h"
#include "net/address.h"

namespace adf::config {
namespace {

using json = nlohmann::json;

const char *const kSectionHint = "(a section {\"plugin\": NAME, ...} is required)";

using adf::json::shown;

std::string to_lower(std::string text) {
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return text;
}

bool is_label_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_';
}

// RFC 1123 names, plus '_' (used in service names). `name` has no trailing dot.
bool is_host_name(const std::string &name) {
    if (name.empty() || name.size() > 253) return false;
    size_t start = 0;
    while (start <= name.size()) {
        size_t end = name.find('.', start);
        if (end == std::string::npos) end = name.size();
        std::string_view label(name.data() + start, end - start);
        if (label.empty() || label.size() > 63) return false;
        if (label.front() == '-' || label.back() == '-') return false;
        if (!std::all_of(label.begin(), label.end(), is_label_char)) return false;
        start = end + 1;
    }
    return true;
}

std::string index_path(const std::string &key, size_t index) {
    return fmt::format("{}[{}]", key, index);
}

// Calls `on_variable(name)` for every "{name}" in `tmpl` and
// `on_text(text)` for the text between them; an unclosed '{' is text.
template <typename OnText, typename OnVariable>
void scan_template(const std::string &tmpl, OnText on_text, OnVariable on_variable) {
    size_t pos = 0;
    while (pos < tmpl.size()) {
        size_t open = tmpl.find('{', pos);
        size_t close = open == std::string::npos ? open : tmpl.find('}', open);
        if (close == std::string::npos) {
            on_text(tmpl.substr(pos));
            return;
        }
        on_text(tmpl.substr(pos, open - pos));
        on_variable(tmpl.substr(open + 1, close - open - 1));
        pos = close + 1;
    }
}

// `item` with {hostname} replaced by `hostname` (the only variable a name
// may hold), or nothing, with the error recorded under `path`.
std::optional<std::string> expand_fqdn(Validator &v, const json &item, const std::string &path,
                                       const std::string &hostname) {
    if (!item.is_string()) {
        v.expected(path, "a host name", item);
        return std::nullopt;
    }
    const std::string written = item.get<std::string>();
    std::string name;
    bool templated = false, ok = true;
    scan_template(written, [&](const std::string &text) { name += text; },
                  [&](const std::string &variable) {
                      templated = true;
                      if (variable == "hostname") {
                          name += hostname;
                          return;
                      }
                      v.fail(path, fmt::format("unknown variable {{{}}} (a name may use "
                                               "{{hostname}})", adf::json::shown(variable)));
                      ok = false;
                  });
    if (!ok) return std::nullopt;
    if (!name.empty() && name.back() == '.') name.pop_back();
    if (is_host_name(name)) return to_lower(name);
    if (templated)
        v.fail(path, fmt::format("{} gives \"{}\" on host name \"{}\", which is not a host name "
                                 "(see hostname and hostname_rewrite)",
                                 adf::json::shown(item), name, hostname));
    else
        v.expected(path, "a host name", item);
    return std::nullopt;
}

std::vector<std::string> read_fqdns(Validator &v, const json &value, const std::string &hostname) {
    std::vector<std::string> names;
    // Each name and where it first appeared: a lookup per name keeps
    // validation O(n log n) however many names the list holds.
    std::map<std::string, std::string> first_seen;
    auto add = [&](const json &item, const std::string &path) {
        const std::optional<std::string> name = expand_fqdn(v, item, path, hostname);
        if (!name) return;
        const auto [seen, is_new] = first_seen.emplace(*name, path);
        if (!is_new) {
            v.fail(path, fmt::format("duplicate of {} (\"{}\")", seen->second, *name));
            return;
        }
        names.push_back(*name);
    };
    if (value.is_array() && !value.empty()) {
        for (size_t i = 0; i < value.size(); ++i) add(value[i], index_path("fqdn", i));
    } else if (value.is_string()) {
        add(value, "fqdn");
    } else {
        v.expected("fqdn", "a host name or a non-empty list of host names", value);
    }
    return names;
}

// "hostname" (this host's short name instead of the system's: containers,
// previews) and "hostname_rewrite" (a sed-like rule for what {hostname}
// stands for in fqdn) into `config`.
void read_hostname(Validator &v, const json &root, Config &config) {
    config.hostname = short_host_name();
    if (auto it = root.find("hostname"); it != root.end()) {
        const std::optional<std::string> name =
            v.non_empty_string(*it, "hostname", "this host's short name");
        if (name && (name->size() > 63 || !is_host_name(*name) || name->find('.') != std::string::npos))
            v.expected("hostname", "a short host name (one label, without dots)", *it);
        else if (name)
            config.hostname = *name;
    }
    config.fqdn_hostname = config.hostname;
    auto it = root.find("hostname_rewrite");
    if (it == root.end()) return;
    if (!it->is_string()) {
        v.expected("hostname_rewrite", "a sed substitution such as \"s/-[0-9]+$//\"", *it);
        return;
    }
    const Result<SedRewrite> rule = SedRewrite::parse(it->get<std::string>());
    if (!rule) {
        v.fail("hostname_rewrite", fmt::format("{}: {}", adf::json::shown(*it), rule.reason()));
        return;
    }
    config.hostname_rewrite = rule->text();
    config.fqdn_hostname = rule->apply(config.hostname);
}

std::vector<std::string> read_plugin_dirs(Validator &v, const json &value) {
    std::vector<std::string> dirs;
    if (!value.is_array()) {
        v.expected("plugin_dirs", "a list of directories", value);
        return dirs;
    }
    for (size_t i = 0; i < value.size(); ++i) {
        if (auto dir = v.non_empty_string(value[i], index_path("plugin_dirs", i), "a directory"))
            dirs.push_back(*dir);
    }
    return dirs;
}

PluginSection read_section(Validator &v, const json &value, const std::string &slot) {
    PluginSection section{slot, "", json::object()};
    if (!value.is_object()) {
        v.expected(slot, "an object {\"plugin\": NAME, ...}", value);
        return section;
    }
    section.settings = value;
    section.settings.erase("plugin");
    auto plugin = value.find("plugin");
    if (plugin == value.end()) {
        v.fail(slot + ".plugin", fmt::format("missing (the name of a {} plugin or the path of "
                                             "its .so is required)", slot));
    } else if (auto name = v.non_empty_string(*plugin, slot + ".plugin", "a plugin name")) {
        section.plugin = *name;
    }
    return section;
}

std::string read_witness(Validator &v, const json &value, const std::string &path) {
    std::optional<Address> address;
    if (value.is_string()) address = parse_address(value.get<std::string>());
    if (!address) {
        v.expected(path, "an IP address", value);
        return {};
    }
    return address->text();
}

Safety read_safety(Validator &v, const json &value) {
    Safety safety;
    if (!value.is_object()) {
        v.expected("safety", "an object", value);
        return safety;
    }
    v.unknown_keys(value, "safety", {"min_records", "max_removals_per_round", "max_dead_fraction",
                                     "witnesses", "self_check_failure_delay"});
    if (auto it = value.find("min_records"); it != value.end())
        if (auto n = v.integer(*it, "safety.min_records", 1, 1000)) safety.min_records = int(*n);
    if (auto it = value.find("max_removals_per_round"); it != value.end()) {
        if (*it == "all")
            safety.max_removals_per_round = kAllRemovals;
        else if (auto n = v.integer(*it, "safety.max_removals_per_round", 0, 1000, "all"))
            safety.max_removals_per_round = int(*n);
    }
    if (auto it = value.find("max_dead_fraction"); it != value.end())
        if (auto x = v.number(*it, "safety.max_dead_fraction", 0, 1)) safety.max_dead_fraction = *x;
    if (auto it = value.find("self_check_failure_delay"); it != value.end())
        if (auto x = v.number(*it, "safety.self_check_failure_delay", 0, 86400))
            safety.self_check_failure_delay = *x;
    if (auto it = value.find("witnesses"); it != value.end()) {
        if (!it->is_array()) {
            v.expected("safety.witnesses", "a list of IP addresses", *it);
        } else {
            std::set<std::string> seen;
            for (size_t i = 0; i < it->size(); ++i) {
                std::string path = index_path("safety.witnesses", i);
                std::string address = read_witness(v, (*it)[i], path);
                if (address.empty()) continue;
                if (!seen.insert(address).second)
                    v.fail(path, fmt::format("duplicate witness {}", address));
                else
                    safety.witnesses.push_back(address);
            }
        }
    }
    return safety;
}

ReadFrom read_read_from(Validator &v, const json &value) {
    ReadFrom read_from;
    if (!value.is_object()) {
        v.expected("read_from", "an object {\"servers\": [...], ...}", value);
        return read_from;
    }
    v.unknown_keys(value, "read_from", {"servers", "timeout", "tcp"});
    if (auto it = value.find("servers"); it == value.end()) {
        v.fail("read_from.servers", "missing (a list of authoritative servers is required)");
    } else if (!it->is_array() || it->empty()) {
        v.expected("read_from.servers", "a non-empty list of servers", *it);
    } else {
        std::set<std::string> seen;  // canonical "ADDRESS:PORT"
        for (size_t i = 0; i < it->size(); ++i) {
            const std::string path = index_path("read_from.servers", i);
            const json &item = (*it)[i];
            std::string why;
            auto server = item.is_string() ? dnsread::parse_server(item.get<std::string>(), &why)
                                           : std::nullopt;
            if (!item.is_string())
                v.expected(path, "a server \"ADDRESS\" or \"ADDRESS:PORT\"", item);
            else if (!server)
                v.fail(path, fmt::format("{}: {} (write 192.0.2.1, 192.0.2.1:5353 or "
                                         "[2001:db8::1]:5353)", shown(item), why));
            else if (!seen.insert(server->text()).second)
                v.fail(path, fmt::format("duplicate server {}", server->text()));
            else
                read_from.servers.push_back(*server);
        }
    }
    if (auto it = value.find("timeout"); it != value.end())
        if (auto x = v.number(*it, "read_from.timeout", 0.01, 60)) read_from.timeout = *x;
    if (auto it = value.find("tcp"); it != value.end()) {
        if (it->is_boolean()) read_from.tcp = it->get<bool>();
        else v.expected("read_from.tcp", "true or false", *it);
    }
    return read_from;
}

bool is_note_variable(const std::string &name) {
    return name == "hostname" || name == "fqdn" || name == "address";
}

std::string read_note(Validator &v, const json &value, const std::string &fallback) {
    if (!value.is_string()) {
        v.expected("note", "a string", value);
        return fallback;
    }
    std::string note = value.get<std::string>();
    bool ok = true;
    scan_template(note, [](const std::string &) {}, [&](const std::string &name) {
        if (is_note_variable(name)) return;
        v.fail("note", fmt::format("unknown variable {{{}}} (use {{hostname}}, {{fqdn}} or "
                                   "{{address}})", name));
        ok = false;
    });
    return ok ? note : fallback;
}

std::optional<int> family_of(const json &value) {
    if (value.is_number_integer() && (value.get<long long>() == 4 || value.get<long long>() == 6))
        return int(value.get<long long>());
    if (value.is_string()) {
        std::string name = to_lower(value.get<std::string>());
        if (name == "ipv4") return 4;
        if (name == "ipv6") return 6;
    }
    return std::nullopt;
}

std::vector<int> read_families(Validator &v, const json &value, std::vector<int> fallback) {
    const char *what = "4, 6, \"ipv4\" or \"ipv6\"";
    if (!value.is_array() || value.empty()) {
        v.expected("families", fmt::format("a non-empty list of {}", what), value);
        return fallback;
    }
    std::vector<int> families;
    for (size_t i = 0; i < value.size(); ++i) {
        std::string path = index_path("families", i);
        auto family = family_of(value[i]);
        if (!family)
            v.expected(path, what, value[i]);
        else if (std::find(families.begin(), families.end(), *family) != families.end())
            v.fail(path, fmt::format("IPv{} is listed twice", *family));
        else
            families.push_back(*family);
    }
    return families.empty() ? fallback : families;
}

log::Options read_logging(Validator &v, const json &value, Reporting &reporting) {
    log::Options options;
    if (!value.is_object()) {
        v.expected("logging", "an object", value);
        return options;
    }
    v.unknown_keys(value, "logging", {"level", "format", "target", "syslog_identity",
                                      "heartbeat", "summary_interval"});
    if (auto it = value.find("heartbeat"); it != value.end())
        if (auto x = v.number(*it, "logging.heartbeat", 0, 86400)) reporting.heartbeat = *x;
    if (auto it = value.find("summary_interval"); it != value.end())
        if (auto x = v.number(*it, "logging.summary_interval", 1, 86400))
            reporting.summary_interval = *x;
    if (auto it = value.find("level"); it != value.end()) {
        if (!it->is_string() || !log::parse_level(it->get<std::string>(), options.level))
            v.expected("logging.level",
                       "\"debug\", \"info\", \"warning\", \"error\" or \"critical\"", *it);
    }
    if (auto it = value.find("format"); it != value.end()) {
        if (*it == "text") options.format = log::Format::Text;
        else if (*it == "json") options.format = log::Format::Json;
        else v.expected("logging.format", "\"text\" or \"json\"", *it);
    }
    if (auto it = value.find("target"); it != value.end()) {
        if (*it == "stderr") options.target = log::Target::Stderr;
        else if (*it == "syslog") options.target = log::Target::Syslog;
        else v.expected("logging.target", "\"stderr\" or \"syslog\"", *it);
    }
    if (auto it = value.find("syslog_identity"); it != value.end()) {
        if (auto identity = v.non_empty_string(*it, "logging.syslog_identity", "a non-empty string"))
            options.syslog_identity = *identity;
    }
    return options;
}

// A string or a secret ({"env"} / {"file"}), resolved now so that a missing
// variable or file is a config error like any other.
std::optional<std::string> secret(Validator &v, const json &value, const std::string &path) {
    adf::Result<std::string> resolved = resolve_string(value);
    if (!resolved) {
        v.fail(path, resolved.reason());
        return std::nullopt;
    }
    return std::move(*resolved);
}

std::optional<bool> boolean(Validator &v, const json &value, const std::string &path) {
    if (value.is_boolean()) return value.get<bool>();
    v.expected(path, "true or false", value);
    return std::nullopt;
}

std::optional<log::Level> level_of(Validator &v, const json &value, const std::string &path) {
    log::Level level = log::Level::Info;
    if (value.is_string() && log::parse_level(value.get<std::string>(), level)) return level;
    v.expected(path, "\"debug\", \"info\", \"warning\", \"error\" or \"critical\"", value);
    return std::nullopt;
}

// "level" and "events" of a notify section or target, over `filter`.
void read_filter(Validator &v, const json &object, const std::string &prefix, EventFilter &filter) {
    if (auto it = object.find("level"); it != object.end())
        if (auto level = level_of(v, *it, prefix + ".level")) filter.level = *level;
    auto it = object.find("events");
    if (it == object.end()) return;
    if (!it->is_array() || it->empty()) {
        v.expected(prefix + ".events", "a non-empty list of event names", *it);
        return;
    }
    filter.events.clear();
    for (size_t i = 0; i < it->size(); ++i) {
        const json &item = (*it)[i];
        if (item.is_string() && events::kind_named(item.get<std::string>()))
            filter.events.push_back(item.get<std::string>());
        else
            v.expected(index_path(prefix + ".events", i),
                       "an event name (README \"Events\": peer_removed, self_check_failed, ...)",
                       item);
    }
}

// A target, or a list of targets, of one kind.
std::vector<std::pair<const json *, std::string>> targets(Validator &v, const json &value,
                                                          const std::string &path) {
    std::vector<std::pair<const json *, std::string>> out;
    if (value.is_object()) {
        out.emplace_back(&value, path);
    } else if (value.is_array()) {
        for (size_t i = 0; i < value.size(); ++i) {
            if (value[i].is_object())
                out.emplace_back(&value[i], index_path(path, i));
            else
                v.expected(index_path(path, i), "an object", value[i]);
        }
    } else {
        v.expected(path, "an object or a list of objects", value);
    }
    return out;
}

// The TLS keys every target has: verify_tls, ca_file, timeout.
template <class Target>
void read_transport(Validator &v, const json &object, const std::string &path, Target &target) {
    if (auto it = object.find("verify_tls"); it != object.end())
        if (auto b = boolean(v, *it, path + ".verify_tls")) target.verify_tls = *b;
    if (auto it = object.find("ca_file"); it != object.end())
        if (auto f = v.non_empty_string(*it, path + ".ca_file", "a file name")) target.ca_file = *f;
    if (auto it = object.find("timeout"); it != object.end())
        if (auto x = v.number(*it, path + ".timeout", 0.1, 300)) target.timeout = *x;
}

bool looks_like_mail_address(const std::string &text) {
    const size_t at = text.find('@');
    return at != std::string::npos && at > 0 && at + 1 < text.size() &&
           text.find_first_of(" \t\r\n<>,\"") == std::string::npos;
}

std::optional<std::string> mail_address(Validator &v, const json &value, const std::string &path) {
    if (value.is_string() && looks_like_mail_address(value.get<std::string>()))
        return value.get<std::string>();
    v.expected(path, "a mail address (user@example.com)", value);
    return std::nullopt;
}

EmailTarget read_email(Validator &v, const json &object, const std::string &path,
                       const EventFilter &defaults) {
    EmailTarget t;
    t.filter = defaults;
    v.unknown_keys(object, path, {"server", "tls", "username", "password", "from", "to",
                                  "verify_tls", "ca_file", "timeout", "level", "events"});
    if (auto it = object.find("server"); it == object.end())
        v.fail(path + ".server", "missing (the SMTP server, \"HOST\" or \"HOST:PORT\")");
    else if (auto server = v.non_empty_string(*it, path + ".server", "\"HOST\" or \"HOST:PORT\""))
        t.server = *server;
    if (auto it = object.find("tls"); it != object.end()) {
        if (*it == "starttls" || *it == "implicit" || *it == "none")
            t.tls = it->get<std::string>();
        else
            v.expected(path + ".tls", "\"starttls\", \"implicit\" or \"none\"", *it);
    }
    if (auto it = object.find("username"); it != object.end())
        if (auto user = secret(v, *it, path + ".username")) t.username = *user;
    if (auto it = object.find("password"); it != object.end())
        if (auto password = secret(v, *it, path + ".password")) t.password = *password;
    if (!t.password.empty() && t.username.empty())
        v.fail(path + ".password", "set, but username is not: AUTH needs both");
    if (auto it = object.find("from"); it == object.end())
        v.fail(path + ".from", "missing (the sender's address)");
    else if (auto from = mail_address(v, *it, path + ".from"))
        t.from = *from;
    if (auto it = object.find("to"); it == object.end()) {
        v.fail(path + ".to", "missing (a list of recipients)");
    } else if (it->is_string()) {
        if (auto to = mail_address(v, *it, path + ".to")) t.to.push_back(*to);
    } else if (it->is_array() && !it->empty()) {
        for (size_t i = 0; i < it->size(); ++i)
            if (auto to = mail_address(v, (*it)[i], index_path(path + ".to", i))) t.to.push_back(*to);
    } else {
        v.expected(path + ".to", "a mail address or a non-empty list of them", *it);
    }
    read_transport(v, object, path, t);
    read_filter(v, object, path, t.filter);
    return t;
}

WebhookTarget read_webhook(Validator &v, const json &object, const std::string &path,
                           const EventFilter &defaults) {
    WebhookTarget t;
    t.filter = defaults;
    v.unknown_keys(object, path, {"url", "hmac_key", "headers", "verify_tls", "ca_file",
                                  "timeout", "level", "events"});
    if (auto it = object.find("url"); it == object.end()) {
        v.fail(path + ".url", "missing (the receiver's http:// or https:// URL)");
    } else if (auto url = v.non_empty_string(*it, path + ".url", "an http:// or https:// URL")) {
        if (url->rfind("http://", 0) == 0 || url->rfind("https://", 0) == 0)
            t.url = *url;
        else
            v.expected(path + ".url", "an http:// or https:// URL", *it);
    }
    if (auto it = object.find("hmac_key"); it != object.end())
        if (auto key = secret(v, *it, path + ".hmac_key")) {
            if (key->empty()) v.fail(path + ".hmac_key", "is empty");
            t.hmac_key = *key;
        }
    if (auto it = object.find("headers"); it != object.end()) {
        if (!it->is_object()) v.expected(path + ".headers", "an object {\"NAME\": VALUE}", *it);
        else
            for (const auto &item : it->items()) {
                const std::string where = display_path(path + ".headers", "/" + pointer_token(item.key()));
                const bool token = !item.key().empty() &&
                                   item.key().find_first_of(" :\t\r\n") == std::string::npos;
                auto value = secret(v, item.value(), where);
                if (!token) v.fail(where, "is not a header name");
                else if (value && value->find_first_of("\r\n") != std::string::npos)
                    v.fail(where, "a header value must be one line");
                else if (value) t.headers.emplace_back(item.key(), *value);
            }
    }
    read_transport(v, object, path, t);
    read_filter(v, object, path, t.filter);
    return t;
}

Notify read_notify(Validator &v, const json &value) {
    Notify notify;
    if (!value.is_object()) {
        v.expected("notify", "an object", value);
        return notify;
    }
    v.unknown_keys(value, "notify", {"level", "events", "host", "coalesce", "queue_size",
                                     "attempts", "retry_delay", "max_retry_delay", "email",
                                     "webhooks"});
    EventFilter defaults;
    read_filter(v, value, "notify", defaults);
    if (auto it = value.find("host"); it != value.end())
        if (auto host = v.non_empty_string(*it, "notify.host", "a host name")) notify.host = *host;
    if (auto it = value.find("coalesce"); it != value.end())
        if (auto x = v.number(*it, "notify.coalesce", 0, 86400)) notify.coalesce = *x;
    if (auto it = value.find("queue_size"); it != value.end())
        if (auto n = v.integer(*it, "notify.queue_size", 1, 100000)) notify.queue_size = size_t(*n);
    if (auto it = value.find("attempts"); it != value.end())
        if (auto n = v.integer(*it, "notify.attempts", 1, 100)) notify.attempts = unsigned(*n);
    if (auto it = value.find("retry_delay"); it != value.end())
        if (auto x = v.number(*it, "notify.retry_delay", 0.01, 3600)) notify.retry_delay = *x;
    if (auto it = value.find("max_retry_delay"); it != value.end())
        if (auto x = v.number(*it, "notify.max_retry_delay", 0.01, 86400))
            notify.max_retry_delay = *x;
    if (auto it = value.find("email"); it != value.end())
        for (const auto &[object, path] : targets(v, *it, "notify.email"))
            notify.email.push_back(read_email(v, *object, path, defaults));
    if (auto it = value.find("webhooks"); it != value.end())
        for (const auto &[object, path] : targets(v, *it, "notify.webhooks"))
            notify.webhooks.push_back(read_webhook(v, *object, path, defaults));
    if (!notify.any())
        v.fail("notify", "names no target (add \"email\" or \"webhooks\", or leave notify out)");
    return notify;
}

Metrics read_metrics(Validator &v, const json &value) {
    Metrics metrics;
    if (!value.is_object()) {
        v.expected("metrics", "an object", value);
        return metrics;
    }
    v.unknown_keys(value, "metrics", {"listen", "textfile"});
    if (auto it = value.find("listen"); it != value.end()) {
        std::string why;
        const std::string spec = it->is_string() ? it->get<std::string>() : "";
        auto server = it->is_string() ? dnsread::parse_server(spec, &why) : std::nullopt;
        if (!it->is_string())
            v.expected("metrics.listen", "\"ADDRESS:PORT\"", *it);
        else if (!server)
            v.fail("metrics.listen", fmt::format("{}: {} (write 127.0.0.1:9468 or [::1]:9468)",
                                                 shown(*it), why));
        else if (parse_address(spec))
            v.fail("metrics.listen", fmt::format("{}: a port is required (write {}:9468)",
                                                 shown(*it), spec.find(':') == std::string::npos
                                                                    ? spec : "[" + spec + "]"));
        else
            metrics.listen = server;
    }
    if (auto it = value.find("textfile"); it != value.end())
        if (auto path = v.non_empty_string(*it, "metrics.textfile", "a file name ending in .prom")) {
            if (path->size() > 5 && path->compare(path->size() - 5, 5, ".prom") == 0)
                metrics.textfile = *path;
            else
                v.expected("metrics.textfile", "a file name ending in .prom (node_exporter reads only those)", *it);
        }
    return metrics;
}

Control read_control(Validator &v, const json &value) {
    Control control;
    if (!value.is_object()) {
        v.expected("control", "an object", value);
        return control;
    }
    v.unknown_keys(value, "control", {"socket"});
    if (auto it = value.find("socket"); it != value.end()) {
        if (*it == false) {
            control.socket.clear();
        } else if (it->is_string() && !it->get<std::string>().empty() &&
                   it->get<std::string>().front() == '/' &&
                   it->get<std::string>().size() < 108) {  // sun_path holds 108 bytes
            control.socket = it->get<std::string>();
        } else {
            v.expected("control.socket", "an absolute path of at most 107 bytes, or false", *it);
        }
        control.configured = true;
    }
    return control;
}

Config read_config(Validator &v, const json &root, const std::string &source) {
    Config config;
    config.source = source;
    if (!root.is_object()) {
        v.expected("", "a JSON object {\"fqdn\": ..., \"dns\": {...}, ...} at the top level", root);
        return config;
    }
    v.unknown_keys(root, "", {"fqdn", "hostname", "hostname_rewrite", "plugin_dirs", "ipaddr",
                              "dns", "check", "timer", "safety", "note", "max_parallel_checks",
                              "families", "logging", "read_from", "notify", "metrics",
                              "control", "peers"});

    read_hostname(v, root, config);
    if (auto it = root.find("fqdn"); it != root.end())
        config.fqdns = read_fqdns(v, *it, config.fqdn_hostname);
    else
        v.fail("fqdn", "missing (a host name or a list of host names is required)");
    if (auto it = root.find("plugin_dirs"); it != root.end())
        config.plugin_dirs = read_plugin_dirs(v, *it);

    for (auto [slot, section] : {std::pair{"ipaddr", &config.ipaddr}, std::pair{"dns", &config.dns},
                                 std::pair{"check", &config.check}}) {
        if (auto it = root.find(slot); it != root.end())
            *section = read_section(v, *it, slot);
        else
            v.fail(slot, fmt::format("missing {}", kSectionHint));
    }
    if (auto it = root.find("timer"); it != root.end())
        config.timer = read_section(v, *it, "timer");
    else
        config.timer = PluginSection{"timer", "fixed-interval", json::object()};

    if (auto it = root.find("safety"); it != root.end()) config.safety = read_safety(v, *it);
    if (auto it = root.find("note"); it != root.end())
        config.note = read_note(v, *it, config.note);
    if (auto it = root.find("max_parallel_checks"); it != root.end()) {
        if (*it == "auto")
            config.max_parallel_checks = 0;
        else if (auto n = v.integer(*it, "max_parallel_checks", 1, 1024, "auto"))
            config.max_parallel_checks = int(*n);
    }
    if (auto it = root.find("families"); it != root.end())
        config.families = read_families(v, *it, config.families);
    if (auto it = root.find("logging"); it != root.end())
        config.logging = read_logging(v, *it, config.reporting);
    if (auto it = root.find("notify"); it != root.end()) config.notify = read_notify(v, *it);
    if (auto it = root.find("metrics"); it != root.end()) config.metrics = read_metrics(v, *it);
    if (auto it = root.find("control"); it != root.end()) config.control = read_control(v, *it);
    if (auto it = root.find("read_from"); it != root.end())
        config.read_from = read_read_from(v, *it);
    if (auto it = root.find("peers"); it != root.end()) config.peers = read_peers(v, *it);
    return config;
}

// nlohmann keeps only the last of two equal keys; an operator who wrote
// "check" twice should hear about it. Tracks the path through parse events.
class DuplicateKeyFinder {
   public:
    explicit DuplicateKeyFinder(Validator &validator) : validator_(validator) {}

    bool operator()(int /*depth*/, json::parse_event_t event, json &parsed) {
        switch (event) {
            case json::parse_event_t::object_start: push(false); break;
            case json::parse_event_t::array_start: push(true); break;
            case json::parse_event_t::key: {
                Frame &top = frames_.back();
                top.key = parsed.get<std::string>();
                if (!top.keys.insert(top.key).second) validator_.fail(path(), "duplicate key");
                break;
            }
            case json::parse_event_t::object_end:
            case json::parse_event_t::array_end:
                frames_.pop_back();
                value_done();
                break;
            case json::parse_event_t::value: value_done(); break;
        }
        return true;
    }

   private:
    struct Frame {
        bool is_array = false;
        size_t index = 0;
        std::string key;
        std::set<std::string> keys;
    };

    void push(bool is_array) {
        frames_.emplace_back();
        frames_.back().is_array = is_array;
    }

    void value_done() {
        if (!frames_.empty() && frames_.back().is_array) ++frames_.back().index;
    }

    std::string path() const {
        std::string out;
        for (const Frame &frame : frames_) {
            if (frame.is_array)
                out += fmt::format("[{}]", frame.index);
            else
                out += (out.empty() ? "" : ".") + frame.key;
        }
        return out;
    }

    Validator &validator_;
    std::vector<Frame> frames_;
};

bool is_array_index(const std::string &token) {
    return !token.empty() && std::all_of(token.begin(), token.end(), ::isdigit) &&
           (token.size() == 1 || token[0] != '0');
}

std::string unescape_token(const std::string &token) {
    std::string out;
    for (size_t i = 0; i < token.size(); ++i) {
        if (token[i] == '~' && i + 1 < token.size() && (token[i + 1] == '0' || token[i + 1] == '1')) {
            out += token[i + 1] == '0' ? '~' : '/';
            ++i;
        } else {
            out += token[i];
        }
    }
    return out;
}

}  // namespace

std::string pointer_token(const std::string &key) {
    std::string token;
    for (char c : key) {
        if (c == '~') token += "~0";
        else if (c == '/') token += "~1";
        else token += c;
    }
    return token;
}

std::string display_path(const std::string &slot, const std::string &json_pointer) {
    std::string path = slot;
    if (json_pointer.empty()) return path;
    // A pointer without its leading '/' is taken as one key.
    size_t pos = json_pointer[0] == '/' ? 1 : 0;
    while (true) {
        size_t end = json_pointer.find('/', pos);
        std::string token = unescape_token(json_pointer.substr(
            pos, end == std::string::npos ? std::string::npos : end - pos));
        if (is_array_index(token))
            path += "[" + token + "]";
        else
            path += (path.empty() ? "" : ".") + token;
        if (end == std::string::npos) break;
        pos = end + 1;
    }
    return path;
}

Config parse(const std::string &text, const std::string &source,
             std::vector<std::string> &errors) {
    Validator validator(source);
    DuplicateKeyFinder duplicates(validator);
    adf::json::ParseOptions options;
    options.allow_comments = true;
    options.observer = std::ref(duplicates);
    const adf::Result<json> root = adf::json::parse(text, options);
    if (!root)
        throw ConfigError(fmt::format("{}:{}", source.empty() ? "config" : source, root.reason()));
    Config config = read_config(validator, *root, source);
    errors = validator.take_errors();
    return config;
}

Config parse(const std::string &text, const std::string &source) {
    std::vector<std::string> errors;
    Config config = parse(text, source, errors);
    if (!errors.empty()) throw ConfigError(join_errors(errors));
    return config;
}

Config load_file(const std::string &path, std::vector<std::string> &errors) {
    const adf::Result<std::string> text = adf::read_regular_file(path, kMaxConfigBytes);
    if (!text) throw ConfigError(fmt::format("{}: cannot read: {}", path, text.reason()));
    return parse(*text, path, errors);
}

Config load_file(const std::string &path) {
    std::vector<std::string> errors;
    Config config = load_file(path, errors);
    if (!errors.empty()) throw ConfigError(join_errors(errors));
    return config;
}

std::string join_errors(const std::vector<std::string> &lines) {
    std::string message;
    const size_t listed = std::min(lines.size(), kMaxErrorsListed);
    for (size_t i = 0; i < listed; ++i) message += (i == 0 ? "" : "\n") + lines[i];
    if (lines.size() > listed)
        message += fmt::format("\n... and {} more errors", lines.size() - listed);
    return message;
}

std::string render_note(const std::string &tmpl, const std::string &hostname,
                        const std::string &fqdn, const std::string &address) {
    std::string note;
    scan_template(tmpl, [&](const std::string &text) { note += text; },
                  [&](const std::string &name) {
                      if (name == "hostname") note += hostname;
                      else if (name == "fqdn") note += fqdn;
                      else if (name == "address") note += address;
                      else note += "{" + name + "}";
                  });
    return note;
}

}  // namespace adf::config
