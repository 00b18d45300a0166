#include "config/config.h"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <functional>
#include <limits>
#include <optional>
#include <map>
#include <set>

#include <autodnsfailover/json.hpp>
#include <autodnsfailover/posix.hpp>
#include <fmt/format.h>

#include "config/validator.h"
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

std::vector<std::string> read_fqdns(Validator &v, const json &value) {
    std::vector<std::string> names;
    // Each name and where it first appeared: a lookup per name keeps
    // validation O(n log n) however many names the list holds.
    std::map<std::string, std::string> first_seen;
    auto add = [&](const json &item, const std::string &path) {
        std::string name = item.is_string() ? item.get<std::string>() : std::string();
        if (!name.empty() && name.back() == '.') name.pop_back();
        if (!item.is_string() || !is_host_name(name)) {
            v.expected(path, "a host name", item);
            return;
        }
        name = to_lower(name);
        const auto [seen, is_new] = first_seen.emplace(name, path);
        if (!is_new) {
            v.fail(path, fmt::format("duplicate of {} (\"{}\")", seen->second, name));
            return;
        }
        names.push_back(name);
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

log::Options read_logging(Validator &v, const json &value) {
    log::Options options;
    if (!value.is_object()) {
        v.expected("logging", "an object", value);
        return options;
    }
    v.unknown_keys(value, "logging", {"level", "format", "target", "syslog_identity"});
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

Config read_config(Validator &v, const json &root, const std::string &source) {
    Config config;
    config.source = source;
    if (!root.is_object()) {
        v.expected("", "a JSON object {\"fqdn\": ..., \"dns\": {...}, ...} at the top level", root);
        return config;
    }
    v.unknown_keys(root, "", {"fqdn", "plugin_dirs", "ipaddr", "dns", "check", "timer", "safety",
                              "note", "max_parallel_checks", "families", "logging", "read_from"});

    if (auto it = root.find("fqdn"); it != root.end())
        config.fqdns = read_fqdns(v, *it);
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
    if (auto it = root.find("logging"); it != root.end()) config.logging = read_logging(v, *it);
    if (auto it = root.find("read_from"); it != root.end())
        config.read_from = read_read_from(v, *it);
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

std::string short_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0) return "localhost";
    std::string host(name);
    return host.substr(0, host.find('.'));
}

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

std::string render_note(const std::string &tmpl, const std::string &fqdn,
                        const std::string &address) {
    std::string note;
    scan_template(tmpl, [&](const std::string &text) { note += text; },
                  [&](const std::string &name) {
                      if (name == "hostname") note += short_host_name();
                      else if (name == "fqdn") note += fqdn;
                      else if (name == "address") note += address;
                      else note += "{" + name + "}";
                  });
    return note;
}

}  // namespace adf::config
