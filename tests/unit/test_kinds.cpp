// The typed views of plugin kinds (plugin/kinds.h) on what the host checks
// itself: the names a dns plugin is asked about (adf_dns_ops.validate_name,
// ABI 1.1, and plugins built against 1.0 that lack it), and own addresses
// that must never be published.
#include <doctest/doctest.h>

#include <autodnsfailover/plugin.h>

#include <cstring>
#include <string>

#include "config/config.h"
#include "plugin/host.h"
#include "plugin/kinds.h"
#include "plugin/loader.h"

using adf::config::ConfigError;
using adf::plugin::create_plugins;
using adf::plugin::IpaddrSource;
using adf::plugin::Loader;

namespace {

const std::string kTestPlugins = ADF_TEST_PLUGIN_DIR;

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

// A config of `fqdn` (JSON: a name or a list) whose dns slot is `dns`.
adf::config::Config config_with(const std::string &fqdn, const std::string &dns) {
    return adf::config::parse(R"({"fqdn": )" + fqdn + R"(, "dns": )" + dns + R"(,
        "ipaddr": {"plugin": "static", "address": "127.0.0.1"},
        "check": {"plugin": "tcp-check", "port": 80}})",
                              "x.json");
}

// The ConfigError of creating the dns plugin of `config`, or "".
std::string dns_error(const adf::config::Config &config) {
    Loader loader({kTestPlugins});
    try {
        create_plugins(loader, config, adf::plugin::kDns);
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "";
}

// An ipaddr plugin compiled into the test that answers g_answer.
std::string g_answer;
int answer_create(const adf_host_services *, adf_host *, void **instance) {
    *instance = nullptr;
    return ADF_OK;
}
void answer_destroy(void *) {}
int answer_own_address(void *, int, char *buffer, size_t size) {
    std::strncpy(buffer, g_answer.c_str(), size - 1);
    return ADF_OK;
}
const adf_ipaddr_ops kAnswerOps = {sizeof(adf_ipaddr_ops), answer_own_address};
const adf_plugin_descriptor kAnswer = {sizeof(adf_plugin_descriptor),
                                       ADF_ABI_MAJOR,
                                       ADF_ABI_MINOR,
                                       ADF_KIND_IPADDR,
                                       0,
                                       "answer",
                                       "1.0.0",
                                       "answers what the test says",
                                       answer_create,
                                       answer_destroy,
                                       &kAnswerOps};

}  // namespace

TEST_CASE("dns: a plugin built against ABI 1.0 loads and has every name accepted") {
    const auto config = config_with(R"(["www.example.test", "www.other.test"])",
                                    R"({"plugin": "dns-abi10"})");
    Loader loader({kTestPlugins});
    const auto loaded = loader.load("dns-abi10", ADF_KIND_DNS);
    CHECK(loaded.descriptor->abi_minor == 0);
    auto plugins = create_plugins(loader, config, adf::plugin::kDns);
    REQUIRE(plugins.dns);
    CHECK(plugins.dns->validate_name("anything.example").ok());
    const auto read = plugins.dns->read("www.example.test", 4);
    CHECK(read.ok());
    CHECK(read.records.empty());
}

TEST_CASE("dns: validate_name is asked about every name; each refusal is a config error") {
    const std::string dns = R"({"plugin": "dns-memory", "state": "/nonexistent/state.json",
                                "zone": "example.test"})";
    CHECK(dns_error(config_with(R"(["www.example.test", "example.test"])", dns)).empty());

    const std::string one = dns_error(config_with(R"("www.other.test")", dns));
    CHECK(one == "fqdn: plugin dns-memory (dns) cannot manage www.other.test: \"www.other.test\" "
                 "is not inside the zone \"example.test\"");

    const std::string several = dns_error(
        config_with(R"(["www.example.test", "a.other.test", "b.example.testing"])", dns));
    CHECK(contains(several, "fqdn[1]: plugin dns-memory (dns) cannot manage a.other.test: "));
    CHECK(contains(several, "fqdn[2]: plugin dns-memory (dns) cannot manage b.example.testing: "));
    CHECK_FALSE(contains(several, "fqdn[0]"));
}

TEST_CASE("ipaddr: addresses that are never a host's own are refused, whatever the plugin") {
    auto source = IpaddrSource(adf::plugin::Instance::create(
        {"/test/answer.so", &kAnswer}, {"ipaddr", "answer", nlohmann::json::object()}));
    struct Case {
        const char *answer;
        int family;
        const char *why;
    };
    for (const Case &c : {Case{"0.0.0.0", 4, "the unspecified address"},
                          Case{"::", 6, "the unspecified address"},
                          Case{"224.0.0.1", 4, "a multicast address"},
                          Case{"ff02::1", 6, "a multicast address"},
                          Case{"255.255.255.255", 4, "the broadcast address"}}) {
        INFO(c.answer);
        g_answer = c.answer;
        const auto own = source.own_address(c.family);
        CHECK(own.status == ADF_FAILED);
        CHECK_FALSE(own.address);
        CHECK(contains(own.error, std::string("plugin answer answered ") + c.answer + ", " + c.why +
                                      ", which is never this host's own address"));
    }
    g_answer = "192.0.2.7";
    const auto own = source.own_address(4);
    REQUIRE(own.ok());
    CHECK(own.address->text() == "192.0.2.7");
}
