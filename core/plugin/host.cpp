#include "plugin/host.h"

#include <autodnsfailover/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "logging/log.h"
#include "plugin/kinds.h"
#include "util/text.h"

using json = nlohmann::json;

namespace adf::plugin {

// Finds the index-th member of an object. Plugins walk members 0, 1, 2...:
// keeping the last position makes each next step O(1) instead of a walk from
// the start, so a section with 100,000 keys is read in linear time. Valid as
// long as the section, which never changes while its instance lives.
class MemberCursor {
   public:
    nlohmann::json::const_iterator at(const nlohmann::json &object, size_t index) {
        if (object_ != &object || index < index_) {
            object_ = &object;
            index_ = 0;
            position_ = object.cbegin();
        }
        std::advance(position_, static_cast<std::ptrdiff_t>(index - index_));
        index_ = index;
        return position_;
    }

   private:
    const nlohmann::json *object_ = nullptr;
    size_t index_ = 0;
    nlohmann::json::const_iterator position_;
};

}  // namespace adf::plugin

// The state behind one plugin instance's adf_host handle. Everything a
// plugin receives from the host points into here and lives as long as it.
struct adf_host {
    std::string plugin;  // the plugin's declared name
    adf::config::PluginSection section;
    std::set<std::string> asked;  // top-level keys the plugin asked about
    bool took_whole_section = false;
    // Host-owned strings handed to the plugin: a node-based set keeps every
    // address stable and stores each distinct value once.
    std::set<std::string> strings;
    std::string last_error;
    std::vector<std::string> config_errors;
    adf::plugin::CallContext context;
    adf::plugin::MemberCursor members;  // for config_member()
};

// What one adf_dns_ops.read call emitted.
struct adf_record_sink {
    int family = ADF_FAMILY_IPV4;
    std::vector<adf::plugin::ReadRecord> records;
    std::string invalid;  // the first problem; empty while all is well
};

namespace adf::plugin {

// Not adf::json, the helper namespace: the value type.
using json = nlohmann::json;

namespace {

// ---------------------------------------------------------------- helpers

const char *intern(adf_host &host, std::string value) {
    return host.strings.insert(std::move(value)).first->c_str();
}

using adf::json::shown;

// Printable text of something a plugin handed over, cut short.
std::string quoted(const char *plugin_text) {
    return "\"" + text::printable(text::bounded(plugin_text, 60)) + "\"";
}

std::string where(const adf_host &host, const std::string &pointer) {
    return config::display_path(host.section.slot, pointer);
}

int config_failure(adf_host &host, const std::string &pointer, const std::string &message) {
    host.config_errors.push_back(where(host, pointer) + ": " + message);
    return ADF_BAD_CONFIG;
}

// Splits a JSON Pointer (RFC 6901) into unescaped tokens; false when it is
// malformed (no leading '/', or a '~' not followed by 0 or 1).
bool pointer_tokens(const std::string &pointer, std::vector<std::string> &tokens) {
    if (pointer.empty()) return true;
    if (pointer[0] != '/') return false;
    std::string token;
    for (size_t i = 1; i <= pointer.size(); ++i) {
        if (i == pointer.size() || pointer[i] == '/') {
            tokens.push_back(token);
            token.clear();
        } else if (pointer[i] == '~') {
            if (i + 1 >= pointer.size() || (pointer[i + 1] != '0' && pointer[i + 1] != '1'))
                return false;
            token += pointer[i + 1] == '0' ? '~' : '/';
            ++i;
        } else {
            token += pointer[i];
        }
    }
    return true;
}

bool is_array_index(const std::string &token, size_t &index) {
    if (token.empty() || token.size() > 9) return false;
    if (token.size() > 1 && token[0] == '0') return false;
    if (!std::all_of(token.begin(), token.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return false;
    index = std::stoul(token);
    return true;
}

// The value at `path` in the plugin's section, marking its top-level key as
// asked about. Null with `status` ADF_ABSENT when there is none, or
// ADF_BAD_CONFIG (recorded) when the path is not a JSON Pointer.
const json *lookup(adf_host &host, const char *path, int &status) {
    std::vector<std::string> tokens;
    if (!pointer_tokens(path, tokens)) {
        status = config_failure(host, path,
                                fmt::format("plugin {} asked for {}, which is not a JSON Pointer "
                                            "(it must start with '/')",
                                            host.plugin, quoted(path)));
        return nullptr;
    }
    if (!tokens.empty()) host.asked.insert(tokens.front());
    const json *node = &host.section.settings;
    for (const auto &token : tokens) {
        size_t index = 0;
        if (node->is_object()) {
            auto found = node->find(token);
            node = found == node->end() ? nullptr : &*found;
        } else if (node->is_array() && is_array_index(token, index) && index < node->size()) {
            node = &(*node)[index];
        } else {
            node = nullptr;
        }
        if (node == nullptr) {
            status = ADF_ABSENT;
            return nullptr;
        }
    }
    status = ADF_OK;
    return node;
}

// Runs a service body for a plugin, which calls through C: no exception may
// escape, so one that does becomes a recorded config error.
template <class Body>
int guarded_config(adf_host *host, const char *path, Body &&body) noexcept {
    if (host == nullptr) return ADF_BAD_CONFIG;
    try {
        if (path == nullptr)
            return config_failure(*host, "",
                                  fmt::format("plugin {} passed a NULL config path", host->plugin));
        return body(*host, std::string(path));
    } catch (const std::exception &e) {
        try {
            return config_failure(*host, path ? path : "",
                                  fmt::format("could not be read: {}", e.what()));
        } catch (...) {
            return ADF_BAD_CONFIG;
        }
    } catch (...) {
        return ADF_BAD_CONFIG;
    }
}

int null_output(adf_host &host, const std::string &path) {
    return config_failure(host, path,
                          fmt::format("plugin {} passed a NULL result pointer", host.plugin));
}

// "an integer from 1 to 65535", leaving out the bounds that are no bounds.
template <class T>
std::string range_text(const char *what, T min, T max) {
    const bool no_min = min <= std::numeric_limits<T>::lowest();
    const bool no_max = max >= std::numeric_limits<T>::max();
    if (no_min && no_max) return what;
    if (no_min) return fmt::format("{} of at most {}", what, max);
    if (no_max) return fmt::format("{} of at least {}", what, min);
    return fmt::format("{} from {} to {}", what, min, max);
}

// A string value, or {"env": NAME} / {"file": PATH} resolved
// (config::resolve_string). Errors never include the resolved value.
int resolve_string(adf_host &host, const std::string &path, const json &value,
                   std::string &out) {
    adf::Result<std::string> resolved = config::resolve_string(value);
    if (!resolved) return config_failure(host, path, resolved.reason());
    out = std::move(*resolved);
    return ADF_OK;
}

// The integral value of a JSON number, if it has one that fits.
bool integral_value(const json &value, int64_t &out, bool &too_large) {
    too_large = false;
    if (value.is_number_unsigned()) {
        const auto u = value.get<uint64_t>();
        too_large = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
        out = too_large ? 0 : static_cast<int64_t>(u);
        return !too_large;
    }
    if (value.is_number_integer()) {
        out = value.get<int64_t>();
        return true;
    }
    if (value.is_number_float()) {
        const double d = value.get<double>();
        if (std::floor(d) != d) return false;
        too_large = d < -9223372036854775808.0 || d >= 9223372036854775808.0;
        out = too_large ? 0 : static_cast<int64_t>(d);
        return !too_large;
    }
    return false;
}

// ------------------------------------------------------- the services table

void service_log(adf_host *host, int level, const char *message) {
    try {
        const int clamped = std::min(std::max(level, 0), 4);
        log::Fields fields{"", "", "", "", "plugin_log"};
        if (host != nullptr)
            fields = {host->context.fqdn, host->context.peer, host->plugin, "", "plugin_log"};
        log::write(static_cast<log::Level>(clamped),
                   text::bounded(message, text::kMaxPluginText, "(null message)"), fields);
    } catch (...) {
        // The logger itself failed: there is no channel left to report it on.
    }
}

void service_set_error(adf_host *host, const char *message) {
    if (host == nullptr) return;
    try {
        host->last_error = text::bounded(message, text::kMaxPluginText, "(null message)");
    } catch (...) {
        host->last_error.clear();
    }
}

void service_config_error(adf_host *host, const char *path, const char *message) {
    guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        return config_failure(h, p, text::bounded(message, text::kMaxPluginText, "invalid"));
    });
}

int service_config_has(adf_host *host, const char *path) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        int status = ADF_OK;
        lookup(h, p.c_str(), status);
        return status;
    });
}

int service_config_string(adf_host *host, const char *path, const char **value) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (value == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        std::string text;
        status = resolve_string(h, p, *found, text);
        if (status == ADF_OK) *value = intern(h, std::move(text));
        return status;
    });
}

int service_config_integer(adf_host *host, const char *path, int64_t min, int64_t max,
                           int64_t *value) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (value == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        int64_t number = 0;
        bool too_large = false;
        if (!integral_value(*found, number, too_large) || number < min || number > max)
            return config_failure(h, p, fmt::format("expected {}, got {}",
                                                    range_text("an integer", min, max),
                                                    shown(*found)));
        *value = number;
        return ADF_OK;
    });
}

int service_config_number(adf_host *host, const char *path, double min, double max,
                          double *value) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (value == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        const bool in_range = found->is_number() && found->get<double>() >= min &&
                              found->get<double>() <= max;
        if (!in_range)
            return config_failure(h, p, fmt::format("expected {}, got {}",
                                                    range_text("a number", min, max),
                                                    shown(*found)));
        *value = found->get<double>();
        return ADF_OK;
    });
}

int service_config_bool(adf_host *host, const char *path, int *value) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (value == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        if (!found->is_boolean())
            return config_failure(h, p,
                                  fmt::format("expected true or false, got {}", shown(*found)));
        *value = found->get<bool>() ? 1 : 0;
        return ADF_OK;
    });
}

int service_config_count(adf_host *host, const char *path, size_t *count) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (count == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        if (!found->is_array() && !found->is_object())
            return config_failure(
                h, p, fmt::format("expected an array or an object, got {}", shown(*found)));
        *count = found->size();
        return ADF_OK;
    });
}

int service_config_member(adf_host *host, const char *path, size_t index, const char **name) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (name == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        if (!found->is_object())
            return config_failure(h, p,
                                  fmt::format("expected an object, got {}", shown(*found)));
        if (index >= found->size()) return static_cast<int>(ADF_ABSENT);
        *name = intern(h, h.members.at(*found, index).key());
        return static_cast<int>(ADF_OK);
    });
}

int service_config_json(adf_host *host, const char *path, const char **text) {
    return guarded_config(host, path, [&](adf_host &h, const std::string &p) -> int {
        if (text == nullptr) return null_output(h, p);
        int status = ADF_OK;
        const json *found = lookup(h, p.c_str(), status);
        if (found == nullptr) return status;
        // A plugin that takes its whole section as JSON judges every key itself.
        if (p.empty()) h.took_whole_section = true;
        // The section came through json::parse, so dump() recurses no deeper
        // than its depth limit; bytes that are not UTF-8 are replaced.
        *text = intern(h, found->dump(-1, ' ', false, json::error_handler_t::replace));
        return ADF_OK;
    });
}

int service_emit_record(adf_record_sink *sink, const char *address, uint32_t ttl,
                        const char *note) {
    if (sink == nullptr) return ADF_FAILED;
    try {
        std::optional<Address> parsed;
        if (address != nullptr) parsed = parse_address(address, sink->family);
        if (!parsed) {
            if (sink->invalid.empty())
                sink->invalid =
                    address == nullptr
                        ? std::string("the plugin emitted a record without an address")
                        : fmt::format("the plugin emitted {}, which is not an IPv{} address",
                                      quoted(address), sink->family);
            return ADF_FAILED;
        }
        sink->records.push_back({*parsed, ttl, note ? note : ""});
        return ADF_OK;
    } catch (const std::exception &e) {
        if (sink->invalid.empty()) sink->invalid = std::string("cannot keep a record: ") + e.what();
        return ADF_FAILED;
    } catch (...) {
        if (sink->invalid.empty()) sink->invalid = "cannot keep a record";
        return ADF_FAILED;
    }
}

const adf_host_services kServices = {
    sizeof(adf_host_services),
    ADF_ABI_MAJOR,
    ADF_ABI_MINOR,
    &service_log,
    &service_set_error,
    &service_config_error,
    &service_config_has,
    &service_config_string,
    &service_config_integer,
    &service_config_number,
    &service_config_bool,
    &service_config_count,
    &service_config_member,
    &service_config_json,
    &service_emit_record,
};

// ------------------------------------------------------------- instances

// "check.prot: unknown key for plugin tcp-check", one per key never asked about.
std::vector<std::string> unknown_keys(const adf_host &host) {
    std::vector<std::string> lines;
    if (host.took_whole_section || !host.section.settings.is_object()) return lines;
    for (const auto &item : host.section.settings.items())
        if (host.asked.count(item.key()) == 0)
            lines.push_back(where(host, "/" + config::pointer_token(item.key())) +
                            ": unknown key for plugin " + host.plugin);
    return lines;
}

void destroy_guarded(const adf_plugin_descriptor &descriptor, void *handle) noexcept {
    try {
        descriptor.destroy(handle);
    } catch (...) {
        // A C++ exception escaped a C destroy(): the instance is gone either way.
    }
}

}  // namespace

struct Instance::State {
    Loaded plugin;
    std::unique_ptr<adf_host> host;
    void *handle = nullptr;
    bool created = false;
};

std::unique_ptr<Instance> Instance::create(const Loaded &plugin,
                                           const config::PluginSection &section) {
    const adf_plugin_descriptor &d = *plugin.descriptor;
    auto state = std::make_unique<State>();
    state->plugin = plugin;
    state->host = std::make_unique<adf_host>();
    adf_host &host = *state->host;
    host.plugin = text::printable(text::bounded(d.name, 200));  // on every log line
    host.section = section;

    void *handle = nullptr;
    int status = ADF_FAILED;
    try {
        status = d.create(&kServices, &host, &handle);
    } catch (const std::exception &e) {
        host.last_error = std::string("an exception escaped its create(): ") + e.what();
    } catch (...) {
        host.last_error = "an exception escaped its create()";
    }

    const std::string failed_to_start =
        fmt::format("{}: plugin {} failed to start: {}", section.slot, host.plugin,
                    host.last_error.empty() ? status_name(status) : host.last_error);
    std::vector<std::string> lines = host.config_errors;
    for (auto &line : unknown_keys(host)) lines.push_back(std::move(line));

    if (status == ADF_BAD_CONFIG || !lines.empty()) {
        if (status == ADF_OK) destroy_guarded(d, handle);
        if (status != ADF_OK && status != ADF_BAD_CONFIG) lines.insert(lines.begin(), failed_to_start);
        if (lines.empty())
            lines.push_back(fmt::format("{}: plugin {} rejected its configuration{}", section.slot,
                                        host.plugin,
                                        host.last_error.empty() ? "" : ": " + host.last_error));
        throw config::ConfigError(config::join_errors(lines));
    }
    if (status != ADF_OK) throw config::ConfigError(failed_to_start);

    state->handle = handle;
    state->created = true;
    host.last_error.clear();
    return std::unique_ptr<Instance>(new Instance(std::move(state)));
}

Instance::Instance(std::unique_ptr<State> state) : state_(std::move(state)) {}

Instance::~Instance() {
    if (state_ && state_->created) destroy_guarded(*state_->plugin.descriptor, state_->handle);
}

const adf_plugin_descriptor &Instance::descriptor() const { return *state_->plugin.descriptor; }
const std::string &Instance::name() const { return state_->host->plugin; }
void *Instance::handle() const { return state_->handle; }
const adf_host_services *Instance::services() const { return &kServices; }
adf_host *Instance::host() const { return state_->host.get(); }

void Instance::set_context(const CallContext &context) { state_->host->context = context; }

std::string Instance::take_error() {
    std::string error;
    error.swap(state_->host->last_error);
    return error;
}

// ---------------------------------------------------------------- records

struct RecordCollector::Sink : adf_record_sink {};

RecordCollector::RecordCollector(int family) : sink_(std::make_shared<Sink>()) {
    sink_->family = family;
}

adf_record_sink *RecordCollector::sink() { return sink_.get(); }

bool RecordCollector::valid() const { return sink_->invalid.empty(); }

const std::string &RecordCollector::invalid() const { return sink_->invalid; }

std::vector<ReadRecord> RecordCollector::take() {
    std::vector<ReadRecord> records;
    records.swap(sink_->records);
    std::stable_sort(records.begin(), records.end(),
                     [](const ReadRecord &a, const ReadRecord &b) { return a.address < b.address; });
    // A provider may list one address twice (two notes, two TTLs): keep one
    // record with the lowest TTL and the first note given.
    std::vector<ReadRecord> merged;
    for (auto &record : records) {
        if (!merged.empty() && merged.back().address == record.address) {
            ReadRecord &kept = merged.back();
            kept.ttl = std::min(kept.ttl, record.ttl);
            if (kept.note.empty()) kept.note = std::move(record.note);
        } else {
            merged.push_back(std::move(record));
        }
    }
    return merged;
}

}  // namespace adf::plugin
