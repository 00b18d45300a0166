// The daemon's config as an attacker or an unlucky operator writes it: the
// JSON parser (depth, comments, duplicate keys), the validation of every
// top-level key, and the host services a plugin reads its section through
// ({"env"} and {"file"} secrets, JSON pointers, typed getters).
//
// Invariants: the text is refused with a ConfigError, or every validated
// value is in its documented range and form; every error line stays short
// whatever the input (bounded quoting); a plugin reading its section gets
// exactly the strings the section holds, or an error.
#include <autodnsfailover/plugin.h>

#include <cstdint>
#include <string>
#include <vector>

#include "config/config.h"
#include "invariant.h"
#include "net/address.h"
#include "plugin/host.h"

namespace {

using nlohmann::json;

// Longest error line the config may print for any input: a path, a short
// quote of the value and the words around them.
constexpr size_t kMaxErrorLine = 1024;

const adf_host_services *g_services = nullptr;
adf_host *g_host = nullptr;

// Reads every member of the object at `path` (recursively, a few levels)
// through the typed getters, as a plugin with many keys would.
void walk(const std::string &path, int depth) {
    size_t count = 0;
    if (g_services->config_count(g_host, path.c_str(), &count) != ADF_OK) {
        const char *text = nullptr;
        g_services->config_string(g_host, path.c_str(), &text);
        int64_t integer = 0;
        g_services->config_integer(g_host, path.c_str(), -5, 70000, &integer);
        FUZZ_REQUIRE(integer >= -5 && integer <= 70000, path);
        double number = 0;
        g_services->config_number(g_host, path.c_str(), 0, 1, &number);
        FUZZ_REQUIRE(number >= 0 && number <= 1, path);
        int flag = 0;
        g_services->config_bool(g_host, path.c_str(), &flag);
        return;
    }
    const char *json_text = nullptr;
    FUZZ_REQUIRE(g_services->config_json(g_host, path.c_str(), &json_text) == ADF_OK, path);
    if (depth > 3) return;
    for (size_t i = 0; i < count && i < 64; ++i) {
        const char *name = nullptr;
        if (g_services->config_member(g_host, path.c_str(), i, &name) == ADF_OK)
            walk(path + "/" + adf::config::pointer_token(name), depth + 1);
        else
            walk(path + "/" + std::to_string(i), depth + 1);
    }
}

int create(const adf_host_services *services, adf_host *host, void **instance) {
    g_services = services;
    g_host = host;
    walk("", 0);
    *instance = nullptr;
    return ADF_OK;
}
void destroy(void *) {}
int check(void *, const char *, int, double) { return ADF_OK; }

const adf_check_ops kOps = {sizeof(adf_check_ops), &check};
const adf_plugin_descriptor kWalker = {
    sizeof(adf_plugin_descriptor), ADF_ABI_MAJOR, ADF_ABI_MINOR, ADF_KIND_CHECK, 0, "walker",
    "1", "reads every key", &create, &destroy, &kOps};

void check_errors(const std::string &message) {
    size_t start = 0;
    while (start <= message.size()) {
        size_t end = message.find('\n', start);
        if (end == std::string::npos) end = message.size();
        FUZZ_REQUIRE(end - start <= kMaxErrorLine,
                     "an error line of " + std::to_string(end - start) + " bytes");
        start = end + 1;
    }
}

void check_valid(const adf::config::Config &config) {
    FUZZ_REQUIRE(!config.fqdns.empty(), "no fqdn in a valid config");
    for (const std::string &name : config.fqdns) {
        FUZZ_REQUIRE(!name.empty() && name.size() <= 253, name);
        for (char c : name) FUZZ_REQUIRE(!(c >= 'A' && c <= 'Z'), "upper case in " + name);
        FUZZ_REQUIRE(name.back() != '.', name);
    }
    FUZZ_REQUIRE(!config.families.empty(), "no family");
    for (int family : config.families) FUZZ_REQUIRE(family == 4 || family == 6, "family");
    for (const std::string &witness : config.safety.witnesses) {
        const auto address = adf::parse_address(witness);
        FUZZ_REQUIRE(address && address->text() == witness, "witness " + witness);
    }
    FUZZ_REQUIRE(config.safety.min_records >= 1, "min_records");
    FUZZ_REQUIRE(config.safety.max_dead_fraction >= 0 && config.safety.max_dead_fraction <= 1,
                 "max_dead_fraction");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string text(reinterpret_cast<const char *>(data), size);
    std::vector<std::string> errors;
    adf::config::Config config;
    try {
        config = adf::config::parse(text, "fuzz.json", errors);
    } catch (const adf::config::ConfigError &e) {
        check_errors(e.what());
        return 0;
    }
    for (const std::string &line : errors) check_errors(line);
    if (errors.empty()) check_valid(config);
    // The plugin sections reach plugins through the host services.
    for (const auto *section : {&config.ipaddr, &config.dns, &config.check, &config.timer}) {
        try {
            adf::plugin::Instance::create(adf::plugin::Loaded{"walker.so", &kWalker}, *section);
        } catch (const adf::config::ConfigError &e) {
            check_errors(e.what());
        }
    }
    return 0;
}
