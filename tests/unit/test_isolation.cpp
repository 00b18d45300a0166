// The check helper's protocol and the parallelism rule, in memory; and
// check_all through a real helper (the one built next to the daemon) with the
// misbehaving test plugins.
#include <doctest/doctest.h>

#include <signal.h>

#include <string>

#include "isolation/check_runner.h"
#include "isolation/protocol.h"

using namespace adf;
using namespace adf::isolation;

namespace {

Address v4(const char *text) { return *parse_address(text, 4); }

HelperSetup setup_for(const std::string &plugin, nlohmann::json settings = nlohmann::json::object()) {
    HelperSetup setup;
    setup.section = {"check", plugin, std::move(settings)};
    setup.plugin_dirs = {ADF_TEST_PLUGIN_DIR};
    setup.logging.level = log::Level::Critical;
    return setup;
}

const std::string kHelper = std::string(ADF_BUILD_DIR) + "/autodnsfailover-checker";

}  // namespace

TEST_CASE("parallel: auto checks every peer at once up to the cap, within the helper's capacity") {
    CHECK(parallel_for(0, 20, 10000) == 20);
    CHECK(parallel_for(0, 4000, 10000) == kAutoParallelCap);
    CHECK(parallel_for(0, 4000, 300) == 300);  // the helper's descriptors bound it
    CHECK(parallel_for(32, 4000, 10000) == 32);
    CHECK(parallel_for(64, 10, 10000) == 64);  // a set value stands (fewer peers use fewer)
    CHECK(parallel_for(0, 0, 10000) == 1);
}

TEST_CASE("protocol: requests, replies, setup and ready survive a round trip") {
    const std::vector<protocol::Request> requests = {{7, v4("192.0.2.1"), 0.5},
                                                     {8, *parse_address("2001:db8::1"), 2}};
    const auto checks = protocol::decode_checks(protocol::encode_checks(requests));
    REQUIRE(checks);
    REQUIRE(checks->size() == 2);
    CHECK((*checks)[0].id == 7);
    CHECK((*checks)[0].address == v4("192.0.2.1"));
    CHECK((*checks)[1].address.text() == "2001:db8::1");
    CHECK((*checks)[1].timeout == 2);

    const std::string long_reason(5000, 'x');
    const auto replies = protocol::decode_replies(protocol::encode_replies(
        {{7, protocol::Outcome::Alive, ""}, {8, protocol::Outcome::HostFault, long_reason}}));
    REQUIRE(replies);
    REQUIRE(replies->size() == 2);
    CHECK((*replies)[0].outcome == protocol::Outcome::Alive);
    CHECK((*replies)[1].outcome == protocol::Outcome::HostFault);
    CHECK((*replies)[1].reason.size() == protocol::kReasonMax);  // cut, never unbounded

    protocol::Setup setup{"1.2.3", {"check", "tcp-check", {{"port", 80}}}, {"/a", "/b"}, {}};
    setup.logging.format = log::Format::Json;
    std::string error;
    const auto back = protocol::decode_setup(protocol::encode_setup(setup), error);
    REQUIRE(back);
    CHECK(back->section.settings == nlohmann::json{{"port", 80}});
    CHECK(back->plugin_dirs == std::vector<std::string>{"/a", "/b"});
    CHECK(back->logging.format == log::Format::Json);

    protocol::Ready refusal;
    refusal.error = "check.port: bad";
    const auto ready = protocol::decode_ready(protocol::encode_ready(refusal), error);
    REQUIRE(ready);
    CHECK_FALSE(ready->ok);
    CHECK(ready->error == "check.port: bad");
}

TEST_CASE("protocol: malformed messages are refused, never half read") {
    std::string error;
    CHECK_FALSE(protocol::decode_checks("R123"));
    CHECK_FALSE(protocol::decode_checks("V"));
    CHECK_FALSE(protocol::decode_replies(std::string("V") + std::string(9, '\0')));
    CHECK_FALSE(protocol::decode_setup("S{not json", error));
    CHECK_FALSE(protocol::decode_ready("A[]", error));
}

TEST_CASE("check_all through the helper: a crash, a hang and a refusal each cost one check") {
    CheckService segfault(setup_for("check-segfault"), kHelper);
    CHECK(segfault.plugin_name() == "check-segfault");
    Limits limits;
    limits.timeout = 2;
    const auto crashed = check_all(segfault, {v4("127.0.0.1")}, limits).verdicts.front();
    CHECK_FALSE(crashed.alive);
    CHECK_FALSE(crashed.host_fault);
    CHECK(crashed.reason().find("killed by signal 11") != std::string::npos);

    CheckService hang(setup_for("check-hang"), kHelper);
    limits.timeout = 0.2;
    limits.attempts = 2;
    const auto hung = check_all(hang, {v4("127.0.0.1"), v4("127.0.0.2")}, limits).verdicts;
    for (const auto &v : hung) {
        CHECK_FALSE(v.alive);
        CHECK(v.attempts == 2);
        CHECK(v.reason() == "timed out after 0.2 s (check killed)");
    }
}

TEST_CASE("a bad check section is the helper's config error, naming the key") {
    try {
        CheckService service(setup_for("check-deadlist", {{"dead_fil", "x"}}), kHelper);
        FAIL("the helper accepted a bad section");
    } catch (const config::ConfigError &e) {
        CHECK(std::string(e.what()).find("check.dead_fil: unknown key for plugin check-deadlist") !=
              std::string::npos);
    }
}

TEST_CASE("a helper that died is replaced; its checks in flight are host faults") {
    CheckService service(setup_for("check-hang"), kHelper);
    const pid_t first = service.helper_pid();
    ::kill(first, SIGKILL);
    Limits limits;
    limits.timeout = 0.2;
    const auto verdict = check_all(service, {v4("127.0.0.1")}, limits).verdicts.front();
    CHECK_FALSE(verdict.alive);
    // Either the death was seen before the check was sent (it then ran on a
    // new helper and timed out) or with it in flight (a host fault).
    if (verdict.host_fault)
        CHECK(verdict.reason().find("the check helper died (killed by signal 9)") == 0);
    else
        CHECK(verdict.reason() == "timed out after 0.2 s (check killed)");
    // The next checks run on a new helper.
    const auto next = check_all(service, {v4("127.0.0.1")}, limits).verdicts.front();
    CHECK(next.reason() == "timed out after 0.2 s (check killed)");
    CHECK_FALSE(next.host_fault);
    CHECK(service.helper_pid() != first);
    CHECK(service.helper_pid() > 0);
}
