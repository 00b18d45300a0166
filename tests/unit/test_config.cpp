#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "config/config.h"

using adf::config::Config;
using adf::config::ConfigError;
using adf::config::display_path;
using adf::config::parse;
using nlohmann::json;

namespace {

// A minimal valid config; tests change one part of it.
json minimal() {
    return json::parse(R"({
        "fqdn": "www.example.test",
        "ipaddr": {"plugin": "static", "address": "127.0.0.1"},
        "dns": {"plugin": "zonefile", "path": "/tmp/x.zone"},
        "check": {"plugin": "tcp-check", "port": 80}
    })");
}

Config parse_json(const json &config) { return parse(config.dump(), "x.json"); }

// The ConfigError message for `config` ("" when it parses).
std::string error_of(const json &config) {
    try {
        parse_json(config);
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "";
}

std::string error_of_text(const std::string &text) {
    try {
        parse(text, "x.json");
    } catch (const ConfigError &e) {
        return e.what();
    }
    return "";
}

json with(json config, const std::string &key, json value) {
    config[key] = std::move(value);
    return config;
}

json without(json config, const std::string &key) {
    config.erase(key);
    return config;
}

std::string short_host_name() {
    char name[256] = {};
    gethostname(name, sizeof name - 1);
    std::string host(name);
    return host.substr(0, host.find('.'));
}

}  // namespace

TEST_CASE("config: a minimal file gets the documented defaults") {
    Config c = parse_json(minimal());
    CHECK(c.source == "x.json");
    CHECK(c.fqdns == std::vector<std::string>{"www.example.test"});
    CHECK(c.plugin_dirs.empty());
    CHECK(c.ipaddr.slot == "ipaddr");
    CHECK(c.ipaddr.plugin == "static");
    CHECK(c.ipaddr.settings == json{{"address", "127.0.0.1"}});
    CHECK(c.dns.slot == "dns");
    CHECK(c.dns.plugin == "zonefile");
    CHECK(c.check.settings == json{{"port", 80}});
    CHECK(c.timer.slot == "timer");
    CHECK(c.timer.plugin == "fixed-interval");
    CHECK(c.timer.settings == json::object());
    CHECK(c.safety.min_records == 1);
    CHECK(c.safety.max_removals_per_round == adf::config::kAllRemovals);
    CHECK(c.safety.max_dead_fraction == 0.5);
    CHECK(c.safety.witnesses.empty());
    CHECK(c.safety.self_check_failure_delay == 60);
    CHECK(c.note == "{hostname}");
    CHECK(c.max_parallel_checks == 0);  // auto
    CHECK(c.families == std::vector<int>{4, 6});
    CHECK(c.logging.level == adf::log::Level::Info);
    CHECK(c.logging.format == adf::log::Format::Text);
    CHECK(c.logging.target == adf::log::Target::Stderr);
}

TEST_CASE("config: every key is read") {
    json config = minimal();
    config["fqdn"] = {"WWW.Example.Test.", "api.example.test"};
    config["plugin_dirs"] = {"/opt/adf/plugins"};
    config["timer"] = {{"plugin", "fixed-interval"}, {"interval", 5}};
    config["safety"] = {{"min_records", 2},
                        {"max_removals_per_round", 0},
                        {"max_dead_fraction", 0.25},
                        {"witnesses", {"2001:DB8:0::1", " 127.0.0.1"}},
                        {"self_check_failure_delay", 1.5}};
    config["note"] = "{hostname} serves {fqdn} at {address}";
    config["max_parallel_checks"] = 1024;
    config["families"] = {"ipv6"};
    config["logging"] = {{"level", "debug"},
                         {"format", "json"},
                         {"target", "syslog"},
                         {"syslog_identity", "adf-test"}};
    Config c = parse_json(config);
    CHECK(c.fqdns == std::vector<std::string>{"www.example.test", "api.example.test"});
    CHECK(c.plugin_dirs == std::vector<std::string>{"/opt/adf/plugins"});
    CHECK(c.timer.settings == json{{"interval", 5}});
    CHECK(c.safety.min_records == 2);
    CHECK(c.safety.max_removals_per_round == 0);
    CHECK(c.safety.max_dead_fraction == 0.25);
    CHECK(c.safety.witnesses == std::vector<std::string>{"2001:db8::1", "127.0.0.1"});
    CHECK(c.safety.self_check_failure_delay == 1.5);
    CHECK(c.note == "{hostname} serves {fqdn} at {address}");
    CHECK(c.max_parallel_checks == 1024);
    CHECK(c.families == std::vector<int>{6});
    CHECK(c.logging.level == adf::log::Level::Debug);
    CHECK(c.logging.format == adf::log::Format::Json);
    CHECK(c.logging.target == adf::log::Target::Syslog);
    CHECK(c.logging.syslog_identity == "adf-test");
}

TEST_CASE("config: comments are accepted") {
    std::string text = R"(// the pool
    {
        /* one name */ "fqdn": "www.example.test",
        "ipaddr": {"plugin": "static"}, // trailing comment
        "dns": {"plugin": "zonefile"},
        "check": {"plugin": "tcp-check"}
    })";
    CHECK(parse(text, "x.json").fqdns == std::vector<std::string>{"www.example.test"});
}

TEST_CASE("config: syntax errors name the file, line and column") {
    CHECK(error_of_text("{\n  \"fqdn\": \"a\",\n  oops\n}") ==
          "x.json:3:3: JSON syntax error: syntax error while parsing object key - invalid "
          "literal; last read: '\"a\",<U+000A>  o'; expected string literal");
    // The position is where the parser noticed: the end of the unexpected token.
    CHECK(error_of_text("{\"a\": 1\n \"b\": 2}") ==
          "x.json:2:4: JSON syntax error: syntax error while parsing object - unexpected string "
          "literal; expected '}'");
    CHECK(error_of_text("{\"a\": 1,}") ==
          "x.json:1:9: JSON syntax error: syntax error while parsing object key - unexpected '}'; "
          "expected string literal");
    CHECK(error_of_text("[1 /* x").rfind("x.json:1:8: JSON syntax error: ", 0) == 0);
    CHECK(error_of_text("").rfind("x.json:1:1: JSON syntax error: ", 0) == 0);
    CHECK(error_of_text("{").rfind("x.json:1:2: JSON syntax error: ", 0) == 0);
    CHECK(error_of_text("{\"a\":\n").rfind("x.json:2:1: JSON syntax error: ", 0) == 0);
}

TEST_CASE("config: an unterminated comment quoting code is cut short in the error") {
    // The comment holds "'; " itself: the quote must still be found from the back.
    const std::string comment(2000, 'x');
    const std::string message = error_of_text("{\"fqdn\": /* say 'a'; then " + comment);
    INFO(message);
    CHECK(message.size() < 300);
    CHECK(message.find("missing closing '*/'") != std::string::npos);
    CHECK(message.find("last read: '...xxxxxxxx") != std::string::npos);
    CHECK(message.back() == '\'');
}

TEST_CASE("config: duplicate keys are errors, not silently overwritten") {
    std::string text = R"({
        "fqdn": "www.example.test",
        "ipaddr": {"plugin": "static"},
        "dns": {"plugin": "zonefile", "servers": [{"port": 1}, [], {"port": 2, "port": 3}]},
        "check": {"plugin": "tcp-check"},
        "check": {"plugin": "http-check"}
    })";
    CHECK(error_of_text(text) ==
          "x.json: dns.servers[2].port: duplicate key\n"
          "x.json: check: duplicate key");
}

TEST_CASE("config: the top level must be an object") {
    CHECK(error_of(json::array({1, 2})) ==
          "x.json: expected a JSON object {\"fqdn\": ..., \"dns\": {...}, ...} at the top level, "
          "got [1,2]");
}

TEST_CASE("config: fqdn") {
    CHECK(error_of(without(minimal(), "fqdn")) ==
          "x.json: fqdn: missing (a host name or a list of host names is required)");
    CHECK(error_of(with(minimal(), "fqdn", json::array())) ==
          "x.json: fqdn: expected a host name or a non-empty list of host names, got []");
    CHECK(error_of(with(minimal(), "fqdn", 5)) ==
          "x.json: fqdn: expected a host name or a non-empty list of host names, got 5");
    CHECK(error_of(with(minimal(), "fqdn", {"good.example.test", "bad name!"})) ==
          "x.json: fqdn[1]: expected a host name, got \"bad name!\"");
    CHECK(error_of(with(minimal(), "fqdn", {"a.test", "A.test."})) ==
          "x.json: fqdn[1]: duplicate of fqdn[0] (\"a.test\")");

    for (const char *bad : {"", ".", "a..b", "-a.test", "a-.test", "a.test..", "a b", "a/b",
                            "ex\u00e4mple.test"}) {
        CAPTURE(bad);
        CHECK(error_of(with(minimal(), "fqdn", bad)) ==
              "x.json: fqdn: expected a host name, got " + json(bad).dump());
    }
    std::string label63(63, 'a');
    CHECK(error_of(with(minimal(), "fqdn", label63 + ".test")).empty());
    CHECK(error_of(with(minimal(), "fqdn", label63 + "a.test")) != "");
    std::string name253 = label63 + "." + label63 + "." + label63 + "." + std::string(61, 'b');
    REQUIRE(name253.size() == 253);
    CHECK(error_of(with(minimal(), "fqdn", name253)).empty());
    CHECK(error_of(with(minimal(), "fqdn", name253 + "b")) != "");
    CHECK(parse_json(with(minimal(), "fqdn", "_srv.Host-1.test.")).fqdns ==
          std::vector<std::string>{"_srv.host-1.test"});
    CHECK(parse_json(with(minimal(), "fqdn", "localhost")).fqdns ==
          std::vector<std::string>{"localhost"});
}

TEST_CASE("config: long values are truncated in messages") {
    std::string message = error_of(with(minimal(), "fqdn", std::string(300, '!')));
    CHECK(message == "x.json: fqdn: expected a host name, got \"" + std::string(56, '!') + "...");
}

TEST_CASE("config: plugin_dirs") {
    CHECK(error_of(with(minimal(), "plugin_dirs", "/opt")) ==
          "x.json: plugin_dirs: expected a list of directories, got \"/opt\"");
    CHECK(error_of(with(minimal(), "plugin_dirs", {"/opt", 3, ""})) ==
          "x.json: plugin_dirs[1]: expected a directory, got 3\n"
          "x.json: plugin_dirs[2]: expected a directory, got \"\"");
    CHECK(parse_json(with(minimal(), "plugin_dirs", json::array())).plugin_dirs.empty());
}

TEST_CASE("config: plugin sections") {
    CHECK(error_of(without(minimal(), "dns")) ==
          "x.json: dns: missing (a section {\"plugin\": NAME, ...} is required)");
    CHECK(error_of(without(without(minimal(), "ipaddr"), "check")) ==
          "x.json: ipaddr: missing (a section {\"plugin\": NAME, ...} is required)\n"
          "x.json: check: missing (a section {\"plugin\": NAME, ...} is required)");
    CHECK(error_of(with(minimal(), "dns", "zonefile")) ==
          "x.json: dns: expected an object {\"plugin\": NAME, ...}, got \"zonefile\"");
    CHECK(error_of(with(minimal(), "check", {{"port", 80}})) ==
          "x.json: check.plugin: missing (the name of a check plugin or the path of its .so is "
          "required)");
    CHECK(error_of(with(minimal(), "check", {{"plugin", ""}})) ==
          "x.json: check.plugin: expected a plugin name, got \"\"");
    CHECK(error_of(with(minimal(), "timer", {{"plugin", 7}})) ==
          "x.json: timer.plugin: expected a plugin name, got 7");
    Config c = parse_json(with(minimal(), "check", {{"plugin", "/opt/x.so"}, {"anything", {1}}}));
    CHECK(c.check.plugin == "/opt/x.so");
    CHECK(c.check.settings == json{{"anything", {1}}});
}

TEST_CASE("config: unknown keys") {
    CHECK(error_of(with(minimal(), "colour", "red")) == "x.json: colour: unknown key");
    CHECK(error_of(with(minimal(), "safety", {{"min_record", 2}})) ==
          "x.json: safety.min_record: unknown key");
    CHECK(error_of(with(minimal(), "logging", {{"file", "/tmp/x"}})) ==
          "x.json: logging.file: unknown key");
    CHECK(error_of(with(minimal(), "a/b~c", 1)) == "x.json: a/b~c: unknown key");
}

TEST_CASE("config: safety") {
    auto safety_error = [](json safety) { return error_of(with(minimal(), "safety", safety)); };
    CHECK(safety_error(5) == "x.json: safety: expected an object, got 5");
    CHECK(safety_error({{"max_dead_fraction", 2}}) ==
          "x.json: safety.max_dead_fraction: expected a number from 0 to 1, got 2");
    CHECK(safety_error({{"max_dead_fraction", true}}) ==
          "x.json: safety.max_dead_fraction: expected a number from 0 to 1, got true");
    CHECK(safety_error({{"max_dead_fraction", "0.5"}}) ==
          "x.json: safety.max_dead_fraction: expected a number from 0 to 1, got \"0.5\"");
    CHECK(safety_error({{"max_dead_fraction", 1}}).empty());
    CHECK(safety_error({{"max_dead_fraction", 0}}).empty());
    CHECK(safety_error({{"min_records", 2.5}}) ==
          "x.json: safety.min_records: expected an integer from 1 to 1000, got 2.5");
    CHECK(safety_error({{"min_records", 0}}) ==
          "x.json: safety.min_records: expected an integer from 1 to 1000, got 0");
    CHECK(safety_error({{"min_records", 1001}}) ==
          "x.json: safety.min_records: expected an integer from 1 to 1000, got 1001");
    CHECK(safety_error({{"min_records", 18446744073709551615ull}}) ==
          "x.json: safety.min_records: expected an integer from 1 to 1000, got "
          "18446744073709551615");
    CHECK(safety_error({{"max_removals_per_round", -1}}) ==
          "x.json: safety.max_removals_per_round: expected \"all\" or an integer from 0 to "
          "1000, got -1");
    CHECK(safety_error({{"max_removals_per_round", "every"}}) ==
          "x.json: safety.max_removals_per_round: expected \"all\" or an integer from 0 to "
          "1000, got \"every\"");
    CHECK(safety_error({{"self_check_failure_delay", 86401}}) ==
          "x.json: safety.self_check_failure_delay: expected a number from 0 to 86400, got 86401");
    CHECK(safety_error({{"self_check_failure_delay", -0.5}}) ==
          "x.json: safety.self_check_failure_delay: expected a number from 0 to 86400, got -0.5");
    CHECK(safety_error({{"witnesses", "127.0.0.1"}}) ==
          "x.json: safety.witnesses: expected a list of IP addresses, got \"127.0.0.1\"");
    CHECK(safety_error({{"witnesses", {"127.0.0.1", "example.test", 4, "127.0.0.01"}}}) ==
          "x.json: safety.witnesses[1]: expected an IP address, got \"example.test\"\n"
          "x.json: safety.witnesses[2]: expected an IP address, got 4\n"
          "x.json: safety.witnesses[3]: expected an IP address, got \"127.0.0.01\"");
    CHECK(safety_error({{"witnesses", {"::1", "0::1"}}}) ==
          "x.json: safety.witnesses[1]: duplicate witness ::1");
}

TEST_CASE("config: note template variables") {
    CHECK(parse_json(with(minimal(), "note", "plain text")).note == "plain text");
    CHECK(parse_json(with(minimal(), "note", "")).note.empty());
    CHECK(error_of(with(minimal(), "note", "{host} at {address} {ip}")) ==
          "x.json: note: unknown variable {host} (use {hostname}, {fqdn} or {address})\n"
          "x.json: note: unknown variable {ip} (use {hostname}, {fqdn} or {address})");
    CHECK(error_of(with(minimal(), "note", "{}")) ==
          "x.json: note: unknown variable {} (use {hostname}, {fqdn} or {address})");
    CHECK(error_of(with(minimal(), "note", 5)) == "x.json: note: expected a string, got 5");
}

TEST_CASE("config: render_note") {
    using adf::config::render_note;
    CHECK(render_note("{hostname}", "web-3", "www.example.test", "127.0.0.1") == "web-3");
    CHECK(render_note("{fqdn} at {address}, {fqdn}", "h", "www.example.test", "::1") ==
          "www.example.test at ::1, www.example.test");
    CHECK(render_note("plain text", "h", "a", "b") == "plain text");
    CHECK(render_note("open { brace", "h", "a", "b") == "open { brace");
}

TEST_CASE("config: the host's short name is the system's up to its first dot") {
    const adf::config::Config config = parse_json(minimal());
    CHECK(config.hostname == short_host_name());
    CHECK(config.hostname.find('.') == std::string::npos);
    CHECK(config.fqdn_hostname == config.hostname);
}

TEST_CASE("config: fqdn from the host name, rewritten as sed would") {
    json c = with(minimal(), "fqdn", json::array({"{hostname}.example.test", "{hostname}-v6.example.test"}));
    c["hostname"] = "Web-3";
    c["hostname_rewrite"] = "s/-[0-9]+$//";
    const adf::config::Config config = parse_json(c);
    CHECK(config.hostname == "Web-3");
    CHECK(config.fqdn_hostname == "Web");
    CHECK(config.fqdns == std::vector<std::string>{"web.example.test", "web-v6.example.test"});
    // Without a rule, {hostname} is the short name itself.
    c.erase("hostname_rewrite");
    CHECK(parse_json(c).fqdns.front() == "web-3.example.test");
}

TEST_CASE("config: hostname_rewrite takes groups, &, flags and other delimiters") {
    const auto rewritten = [](const char *rule, const char *host) {
        json c = with(minimal(), "fqdn", "{hostname}.example.test");
        c["hostname"] = host;
        c["hostname_rewrite"] = rule;
        return parse_json(c).fqdn_hostname;
    };
    CHECK(rewritten("s/^([a-z]+)-([0-9]+)$/\\2-\\1/", "web-12") == "12-web");
    CHECK(rewritten("s|-|_|", "a-b-c") == "a_b-c");
    CHECK(rewritten("s|-|x|g", "a-b-c") == "axbxc");
    CHECK(rewritten("s/[0-9]+/x&x/", "db07") == "dbx07x");
    CHECK(rewritten("s/nomatch//", "web-1") == "web-1");
    CHECK(rewritten("s,x*,z,g", "ab") == "zazbz");
}

TEST_CASE("config: a bad hostname_rewrite or a name it breaks is an error naming both") {
    json c = with(minimal(), "fqdn", "{hostname}.example.test");
    c["hostname"] = "web-3";
    c["hostname_rewrite"] = "s/(/x/";
    CHECK(error_of(c).rfind("x.json: hostname_rewrite: \"s/(/x/\": not a regular expression: ", 0) ==
          0);
    c["hostname_rewrite"] = "s/a/b";
    CHECK(error_of(c) == "x.json: hostname_rewrite: \"s/a/b\": expected s/REGEX/REPLACEMENT/: the "
                         "substitution is not closed");
    c["hostname_rewrite"] = "s/a/b/q";
    CHECK(error_of(c) == "x.json: hostname_rewrite: \"s/a/b/q\": unknown flag \"q\" (only g, every "
                         "match, is known)");
    c["hostname_rewrite"] = "s/a/\\2/";
    CHECK(error_of(c) == "x.json: hostname_rewrite: \"s/a/\\\\2/\": \\2 refers to a group the "
                         "expression does not have");
    c["hostname_rewrite"] = "y/a/b/";
    CHECK(error_of(c) == "x.json: hostname_rewrite: \"y/a/b/\": expected a sed substitution "
                         "s/REGEX/REPLACEMENT/ (flag g optional)");
    c["hostname_rewrite"] = "s/-[0-9]+$/!/";
    CHECK(error_of(c) == "x.json: fqdn: \"{hostname}.example.test\" gives \"web!.example.test\" on "
                         "host name \"web!\", which is not a host name (see hostname and "
                         "hostname_rewrite)");
    c.erase("hostname_rewrite");
    c["hostname"] = "web.example";
    CHECK(error_of(c) ==
          "x.json: hostname: expected a short host name (one label, without dots), got "
          "\"web.example\"");
    c["hostname"] = "web";
    c["fqdn"] = "{host}.example.test";
    CHECK(error_of(c) == "x.json: fqdn: unknown variable {\"host\"} (a name may use {hostname})");
}

TEST_CASE("config: names derived from the host name are checked for duplicates") {
    json c = with(minimal(), "fqdn", json::array({"{hostname}.example.test", "web.example.test"}));
    c["hostname"] = "web-1";
    c["hostname_rewrite"] = "s/-[0-9]+//";
    CHECK(error_of(c) ==
          "x.json: fqdn[1]: duplicate of fqdn[0] (\"web.example.test\")");
}

TEST_CASE("config: max_parallel_checks") {
    const char *const range = "x.json: max_parallel_checks: expected \"auto\" or an integer from 1 "
                              "to 1024, got ";
    CHECK(error_of(with(minimal(), "max_parallel_checks", 0)) == std::string(range) + "0");
    CHECK(error_of(with(minimal(), "max_parallel_checks", 1025)) == std::string(range) + "1025");
    CHECK(error_of(with(minimal(), "max_parallel_checks", 8.0)) == std::string(range) + "8.0");
    CHECK(error_of(with(minimal(), "max_parallel_checks", "all")) ==
          std::string(range) + "\"all\"");
    CHECK(parse_json(with(minimal(), "max_parallel_checks", 1)).max_parallel_checks == 1);
    CHECK(parse_json(with(minimal(), "max_parallel_checks", "auto")).max_parallel_checks == 0);
}

TEST_CASE("config: max_removals_per_round takes all") {
    json config = minimal();
    config["safety"] = {{"max_removals_per_round", "all"}};
    CHECK(parse_json(config).safety.max_removals_per_round == adf::config::kAllRemovals);
}

TEST_CASE("config: families") {
    auto families = [](json value) { return parse_json(with(minimal(), "families", value)).families; };
    CHECK(families({4}) == std::vector<int>{4});
    CHECK(families({6, 4}) == std::vector<int>{6, 4});
    CHECK(families({"ipv4", "IPv6"}) == std::vector<int>{4, 6});
    CHECK(error_of(with(minimal(), "families", json::array())) ==
          "x.json: families: expected a non-empty list of 4, 6, \"ipv4\" or \"ipv6\", got []");
    CHECK(error_of(with(minimal(), "families", 4)) ==
          "x.json: families: expected a non-empty list of 4, 6, \"ipv4\" or \"ipv6\", got 4");
    CHECK(error_of(with(minimal(), "families", {4, 5, "v6", 4.0})) ==
          "x.json: families[1]: expected 4, 6, \"ipv4\" or \"ipv6\", got 5\n"
          "x.json: families[2]: expected 4, 6, \"ipv4\" or \"ipv6\", got \"v6\"\n"
          "x.json: families[3]: expected 4, 6, \"ipv4\" or \"ipv6\", got 4.0");
    CHECK(error_of(with(minimal(), "families", {4, "ipv4"})) ==
          "x.json: families[1]: IPv4 is listed twice");
}

TEST_CASE("config: logging") {
    auto logging_error = [](json logging) { return error_of(with(minimal(), "logging", logging)); };
    CHECK(logging_error("debug") == "x.json: logging: expected an object, got \"debug\"");
    CHECK(logging_error({{"level", "verbose"}}) ==
          "x.json: logging.level: expected \"debug\", \"info\", \"warning\", \"error\" or "
          "\"critical\", got \"verbose\"");
    CHECK(logging_error({{"format", "xml"}}) ==
          "x.json: logging.format: expected \"text\" or \"json\", got \"xml\"");
    CHECK(logging_error({{"target", "file"}}) ==
          "x.json: logging.target: expected \"stderr\" or \"syslog\", got \"file\"");
    CHECK(logging_error({{"syslog_identity", ""}}) ==
          "x.json: logging.syslog_identity: expected a non-empty string, got \"\"");
    for (const char *level : {"debug", "info", "warning", "error", "critical"}) {
        adf::log::Level parsed;
        REQUIRE(adf::log::parse_level(level, parsed));
        CHECK(parse_json(with(minimal(), "logging", {{"level", level}})).logging.level == parsed);
    }
}

TEST_CASE("config: all errors are reported together, one per line") {
    json config = minimal();
    config.erase("dns");
    config["fqdn"] = {"ok.test", "bad name!"};
    config["safety"] = {{"max_dead_fraction", 2}, {"min_record", 1}};
    config["colour"] = "blue";
    config["max_parallel_checks"] = "many";
    CHECK(error_of(config) ==
          "x.json: colour: unknown key\n"
          "x.json: fqdn[1]: expected a host name, got \"bad name!\"\n"
          "x.json: dns: missing (a section {\"plugin\": NAME, ...} is required)\n"
          "x.json: safety.min_record: unknown key\n"
          "x.json: safety.max_dead_fraction: expected a number from 0 to 1, got 2\n"
          "x.json: max_parallel_checks: expected \"auto\" or an integer from 1 to 1024, got \"many\"");
}

TEST_CASE("config: display_path") {
    CHECK(display_path("check", "/headers/Host") == "check.headers.Host");
    CHECK(display_path("check", "/statuses/0") == "check.statuses[0]");
    CHECK(display_path("check", "/a~1b/c~0d/~01") == "check.a/b.c~d.~1");
    CHECK(display_path("check", "") == "check");
    CHECK(display_path("dns", "/servers/12/port") == "dns.servers[12].port");
    CHECK(display_path("dns", "/007") == "dns.007");
    CHECK(display_path("", "/fqdn/1") == "fqdn[1]");
    CHECK(display_path("", "/safety/witnesses") == "safety.witnesses");
    CHECK(display_path("dns", "zone") == "dns.zone");
}

TEST_CASE("config: load_file") {
    std::string path = "/tmp/adf-config-test-" + std::to_string(getpid()) + ".json";
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    std::string text = "// test\n" + minimal().dump(2);
    REQUIRE(::write(fd, text.data(), text.size()) == ssize_t(text.size()));
    ::close(fd);
    Config c = adf::config::load_file(path);
    CHECK(c.source == path);
    CHECK(c.dns.plugin == "zonefile");

    std::ofstream(path) << "{\"fqdn\": 1}";
    try {
        adf::config::load_file(path);
        FAIL("no error");
    } catch (const ConfigError &e) {
        CHECK(std::string(e.what()).rfind(path + ": fqdn: expected", 0) == 0);
    }
    std::remove(path.c_str());

    CHECK_THROWS_WITH_AS(adf::config::load_file("/nonexistent/adf.json"),
                         "/nonexistent/adf.json: cannot read: No such file or directory",
                         ConfigError);
    CHECK_THROWS_WITH_AS(adf::config::load_file("/tmp"),
                         "/tmp: cannot read: is a directory: only regular files are read",
                         ConfigError);
}

TEST_CASE("config: only a regular file of at most 1 MiB is read, never a device or a FIFO") {
    // /dev/zero would fill memory for ever, a FIFO without a writer block.
    CHECK_THROWS_WITH_AS(adf::config::load_file("/dev/zero"),
                         "/dev/zero: cannot read: is a character device: only regular files are "
                         "read",
                         ConfigError);
    const std::string fifo = "/tmp/adf-config-fifo-" + std::to_string(getpid());
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK_THROWS_WITH_AS(adf::config::load_file(fifo),
                         (fifo + ": cannot read: is a FIFO: only regular files are read").c_str(),
                         ConfigError);
    std::remove(fifo.c_str());

    // The cap: a valid config padded with a comment to exactly the limit is
    // read; one byte more is refused before parsing.
    const std::string path = "/tmp/adf-config-big-" + std::to_string(getpid()) + ".json";
    std::string text = minimal().dump() + "\n//";
    text.resize(adf::config::kMaxConfigBytes, 'x');
    std::ofstream(path) << text;
    CHECK(adf::config::load_file(path).dns.plugin == "zonefile");
    std::ofstream(path, std::ios::app) << 'x';
    CHECK_THROWS_WITH_AS(adf::config::load_file(path),
                         (path + ": cannot read: is 1048577 bytes, more than the limit of 1048576 "
                                 "bytes").c_str(),
                         ConfigError);
    std::remove(path.c_str());
}

TEST_CASE("config: JSON nested 100,000 deep is an error naming the place, not a crash") {
    // 200 KB: {"fqdn": [[[[...]]]] }
    const std::string deep =
        "{\"fqdn\": " + std::string(100000, '[') + std::string(100000, ']') + "}";
    CHECK(error_of_text(deep) == "x.json:1:73: JSON nested deeper than 64 levels");
    // In a plugin section too, where the plugin would read it.
    std::string text = minimal().dump();
    const std::string section = "\"check\":{";
    text.insert(text.find(section) + section.size(),
                "\"deep\": " + std::string(100000, '[') + std::string(100000, ']') + ", ");
    CHECK(error_of_text(text).find("JSON nested deeper than 64 levels") != std::string::npos);
}

TEST_CASE("config: duplicate names are found among 100,000, each naming the first") {
    json names = json::array();
    for (int i = 0; i < 100000; ++i) names.push_back("host" + std::to_string(i) + ".example.test");
    CHECK(error_of(with(minimal(), "fqdn", names)).empty());
    names.push_back("HOST99999.example.test.");  // the same name, written otherwise
    names.push_back("host7.example.test");
    names.push_back("host100000.example.test");  // new
    names.push_back("host7.example.test");
    CHECK(error_of(with(minimal(), "fqdn", names)) ==
          "x.json: fqdn[100000]: duplicate of fqdn[99999] (\"host99999.example.test\")\n"
          "x.json: fqdn[100001]: duplicate of fqdn[7] (\"host7.example.test\")\n"
          "x.json: fqdn[100003]: duplicate of fqdn[7] (\"host7.example.test\")");
    CHECK(parse_json(with(minimal(), "fqdn", {"b.test", "a.test", "c.test"})).fqdns ==
          std::vector<std::string>{"b.test", "a.test", "c.test"});  // order kept
}

TEST_CASE("config: duplicate witnesses and servers are found however they are written") {
    json config = minimal();
    config["safety"] = {{"witnesses", {"192.0.2.1", "2001:db8::1", "2001:DB8:0::1", "192.0.2.1"}}};
    config["read_from"] = {{"servers", {"192.0.2.53", "192.0.2.53:53", "[2001:db8::53]:53",
                                        "2001:db8::53"}}};
    CHECK(error_of(config) ==
          "x.json: safety.witnesses[2]: duplicate witness 2001:db8::1\n"
          "x.json: safety.witnesses[3]: duplicate witness 192.0.2.1\n"
          "x.json: read_from.servers[1]: duplicate server 192.0.2.53:53\n"
          "x.json: read_from.servers[3]: duplicate server [2001:db8::53]:53");
}

TEST_CASE("config: past 100 errors, the rest are counted") {
    json names = json::array();
    for (int i = 0; i < 250; ++i) names.push_back("bad name " + std::to_string(i));
    const std::string message = error_of(with(minimal(), "fqdn", names));
    CHECK(std::count(message.begin(), message.end(), '\n') == 100);
    CHECK(message.find("x.json: fqdn[99]: expected a host name") != std::string::npos);
    CHECK(message.find("fqdn[100]") == std::string::npos);
    CHECK(message.substr(message.rfind('\n') + 1) == "... and 150 more errors");
}

TEST_CASE("config: errors can be collected instead of thrown, with the valid values kept") {
    json config = minimal();
    config["safety"] = {{"max_dead_fraction", 2}, {"min_records", 3}};
    std::vector<std::string> errors;
    const Config c = parse(config.dump(), "x.json", errors);
    CHECK(errors == std::vector<std::string>{
                        "x.json: safety.max_dead_fraction: expected a number from 0 to 1, got 2"});
    CHECK(c.safety.min_records == 3);
    CHECK(c.dns.plugin == "zonefile");
    // Text that is no JSON at all still throws: there is nothing to keep.
    CHECK_THROWS_AS(parse("{", "x.json", errors), ConfigError);
}

TEST_CASE("config: read_from is absent by default and read with its defaults") {
    CHECK_FALSE(parse_json(minimal()).read_from);
    Config c = parse_json(with(minimal(), "read_from",
                               {{"servers", {"127.0.0.1:53053", "[::1]:5353", "192.0.2.1"}}}));
    REQUIRE(c.read_from);
    REQUIRE(c.read_from->servers.size() == 3);
    CHECK(c.read_from->servers[0].text() == "127.0.0.1:53053");
    CHECK(c.read_from->servers[1].text() == "[::1]:5353");
    CHECK(c.read_from->servers[2].text() == "192.0.2.1:53");
    CHECK(c.read_from->timeout == 2);
    CHECK_FALSE(c.read_from->tcp);
    c = parse_json(with(minimal(), "read_from",
                        {{"servers", {"2001:db8::53"}}, {"timeout", 0.5}, {"tcp", true}}));
    CHECK(c.read_from->servers[0].text() == "[2001:db8::53]:53");
    CHECK(c.read_from->timeout == 0.5);
    CHECK(c.read_from->tcp);
}

TEST_CASE("config: read_from errors name the JSON path") {
    auto error_with = [](json read_from) {
        return error_of(with(minimal(), "read_from", std::move(read_from)));
    };
    CHECK(error_with("127.0.0.1") ==
          "x.json: read_from: expected an object {\"servers\": [...], ...}, got \"127.0.0.1\"");
    CHECK(error_with(json::object()) ==
          "x.json: read_from.servers: missing (a list of authoritative servers is required)");
    CHECK(error_with({{"servers", json::array()}}) ==
          "x.json: read_from.servers: expected a non-empty list of servers, got []");
    CHECK(error_with({{"servers", "127.0.0.1"}}) ==
          "x.json: read_from.servers: expected a non-empty list of servers, got \"127.0.0.1\"");
    CHECK(error_with({{"servers", {"127.0.0.1", 53}}}) ==
          "x.json: read_from.servers[1]: expected a server \"ADDRESS\" or \"ADDRESS:PORT\", "
          "got 53");
    CHECK(error_with({{"servers", {"127.0.0.1", "ns1.example.test"}}}) ==
          "x.json: read_from.servers[1]: \"ns1.example.test\": not an IP address (host names are "
          "not resolved) (write 192.0.2.1, 192.0.2.1:5353 or [2001:db8::1]:5353)");
    CHECK(error_with({{"servers", {"127.0.0.1:99999"}}}) ==
          "x.json: read_from.servers[0]: \"127.0.0.1:99999\": port \"99999\" is not a number "
          "from 1 to 65535 (write 192.0.2.1, 192.0.2.1:5353 or [2001:db8::1]:5353)");
    CHECK(error_with({{"servers", {"127.0.0.1", "127.0.0.1:53"}}}) ==
          "x.json: read_from.servers[1]: duplicate server 127.0.0.1:53");
    CHECK(error_with({{"servers", {"127.0.0.1"}}, {"timeout", 0}}) ==
          "x.json: read_from.timeout: expected a number from 0.01 to 60, got 0");
    CHECK(error_with({{"servers", {"127.0.0.1"}}, {"tcp", "yes"}}) ==
          "x.json: read_from.tcp: expected true or false, got \"yes\"");
    CHECK(error_with({{"servers", {"127.0.0.1"}}, {"server", "x"}}) ==
          "x.json: read_from.server: unknown key");
    // Every error at once, like the rest of the file.
    CHECK(error_with({{"servers", {"x", "y"}}, {"timeout", -1}}) ==
          "x.json: read_from.servers[0]: \"x\": not an IP address (host names are not resolved) "
          "(write 192.0.2.1, 192.0.2.1:5353 or [2001:db8::1]:5353)\n"
          "x.json: read_from.servers[1]: \"y\": not an IP address (host names are not resolved) "
          "(write 192.0.2.1, 192.0.2.1:5353 or [2001:db8::1]:5353)\n"
          "x.json: read_from.timeout: expected a number from 0.01 to 60, got -1");
}

// ---------------------------------------------------------------- issue 10

TEST_CASE("config: notify, metrics, control and the log's rhythm, every key read") {
    setenv("ADF_TEST_SMTP_PASSWORD", "s3cret", 1);
    const Config c = parse_json(with(with(with(with(minimal(), "notify", json::parse(R"({
        "level": "error", "events": ["peer_removed", "self_check_failed"], "host": "web1",
        "coalesce": 60, "queue_size": 10, "attempts": 3, "retry_delay": 0.5, "max_retry_delay": 5,
        "email": {"server": "mail.example.test:587", "tls": "starttls", "username": "adf",
                  "password": {"env": "ADF_TEST_SMTP_PASSWORD"}, "from": "adf@example.test",
                  "to": ["ops@example.test", "oncall@example.test"], "verify_tls": false,
                  "ca_file": "/etc/ssl/ca.pem", "timeout": 3, "level": "warning"},
        "webhooks": [{"url": "https://hooks.example.test/x", "hmac_key": "k",
                      "headers": {"Authorization": "Bearer t"}, "events": ["peer_removed"]}]
    })")), "metrics", json::parse(R"({"listen": "[::1]:9468", "textfile": "/tmp/adf.prom"})")),
        "control", json::parse(R"({"socket": "/tmp/adf.sock"})")),
        "logging", json::parse(R"({"heartbeat": 300, "summary_interval": 120})")));
    CHECK(c.notify.host == "web1");
    CHECK(c.notify.coalesce == 60);
    CHECK(c.notify.queue_size == 10);
    CHECK(c.notify.attempts == 3);
    REQUIRE(c.notify.email.size() == 1);
    const auto &m = c.notify.email[0];
    CHECK(m.password == "s3cret");
    CHECK(m.to.size() == 2);
    CHECK(!m.verify_tls);
    CHECK(m.filter.level == adf::log::Level::Warning);  // its own level
    CHECK(m.filter.events == std::vector<std::string>{"peer_removed", "self_check_failed"});
    REQUIRE(c.notify.webhooks.size() == 1);
    CHECK(c.notify.webhooks[0].filter.level == adf::log::Level::Error);  // notify's
    CHECK(c.notify.webhooks[0].headers.size() == 1);
    REQUIRE(c.metrics.listen);
    CHECK(c.metrics.listen->text() == "[::1]:9468");
    CHECK(c.metrics.textfile == "/tmp/adf.prom");
    CHECK(c.control.socket == "/tmp/adf.sock");
    CHECK(c.control.configured);
    CHECK(c.reporting.heartbeat == 300);
    CHECK(c.reporting.summary_interval == 120);
}

TEST_CASE("config: the new sections default to off, the control socket to the runtime directory") {
    const Config c = parse_json(minimal());
    CHECK(!c.notify.any());
    CHECK(!c.metrics.listen);
    CHECK(c.control.socket == "/run/autodnsfailover/control.sock");
    CHECK(!c.control.configured);
    CHECK(parse_json(with(minimal(), "control", {{"socket", false}})).control.socket.empty());
    CHECK(c.reporting.heartbeat == 600);
}

TEST_CASE("config: every error of the new sections at once, each with its JSON path") {
    const std::string error = error_of(with(with(with(minimal(), "notify", json::parse(R"({
        "level": "loud", "events": ["peer_gone"], "colaesce": 1,
        "email": [{"server": "m", "tls": "ssl", "from": "nobody", "to": [],
                   "password": {"file": "/nonexistent/secret"}}, 7],
        "webhooks": {"url": "ftp://x", "hmac_key": {"env": "ADF_TEST_NO_SUCH_VARIABLE"},
                     "headers": {"Bad Name": "x", "X-Ok": "a\nb"}}
    })")), "metrics", json::parse(R"({"listen": "127.0.0.1", "textfile": "/tmp/x.txt", "port": 1})")),
        "control", json::parse(R"({"socket": "relative.sock"})")));
    for (const char *expected : {
             "x.json: notify.level: expected \"debug\", \"info\", \"warning\", \"error\" or \"critical\", got \"loud\"",
             "x.json: notify.events[0]: expected an event name",
             "x.json: notify.colaesce: unknown key",
             "x.json: notify.email[0].tls: expected \"starttls\", \"implicit\" or \"none\", got \"ssl\"",
             "x.json: notify.email[0].from: expected a mail address (user@example.com), got \"nobody\"",
             "x.json: notify.email[0].to: expected a mail address or a non-empty list of them, got []",
             "x.json: notify.email[0].password: {\"file\": \"/nonexistent/secret\"}:",
             "x.json: notify.email[1]: expected an object, got 7",
             "x.json: notify.webhooks.url: expected an http:// or https:// URL, got \"ftp://x\"",
             "x.json: notify.webhooks.hmac_key: environment variable ADF_TEST_NO_SUCH_VARIABLE is not set",
             "x.json: notify.webhooks.headers.Bad Name: is not a header name",
             "x.json: notify.webhooks.headers.X-Ok: a header value must be one line",
             "x.json: metrics.listen: \"127.0.0.1\": a port is required (write 127.0.0.1:9468)",
             "x.json: metrics.textfile: expected a file name ending in .prom",
             "x.json: metrics.port: unknown key",
             "x.json: control.socket: expected an absolute path of at most 107 bytes, or false"})
        CHECK_MESSAGE(error.find(expected) != std::string::npos, expected, "\nnot in:\n", error);
    CHECK(error_of(with(minimal(), "notify", json::object())).find("notify: names no target") !=
          std::string::npos);
    CHECK(error_of(with(minimal(), "notify", json::parse(R"({"email": {"server": "m",
              "password": "p", "from": "a@b.c", "to": "d@e.f"}})")))
              .find("notify.email.password: set, but username is not: AUTH needs both") !=
          std::string::npos);
    CHECK(error_of(with(minimal(), "logging", {{"heartbeat", -1}})).find("logging.heartbeat") !=
          std::string::npos);
}

TEST_CASE("config: secrets are resolved without ever quoting their value") {
    const std::string path = "/tmp/adf-test-secret-" + std::to_string(getpid());
    {
        std::ofstream out(path);
        out << "hunter2\n";
    }
    CHECK(*adf::config::resolve_string(json{{"file", path}}) == "hunter2");
    CHECK(*adf::config::resolve_string(json("plain")) == "plain");
    const auto bad = adf::config::resolve_string(json{{"env", "X"}, {"file", path}});
    CHECK(!bad);
    CHECK(bad.reason().find("expected a string, {\"env\": NAME} or {\"file\": PATH}") == 0);
    std::remove(path.c_str());
}
