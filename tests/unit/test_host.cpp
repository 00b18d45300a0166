#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <autodnsfailover/plugin.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "config/config.h"
#include "logging/log.h"
#include "plugin/host.h"
#include "util/text.h"

using adf::config::ConfigError;
using adf::plugin::Instance;
using adf::plugin::RecordCollector;

namespace {

// A check plugin compiled into the test: its create() runs whatever body
// the test sets, with the real services table, inside the real create().
using Body = std::function<int(const adf_host_services *, adf_host *)>;
Body g_body;
int g_destroyed = 0;

int fake_create(const adf_host_services *services, adf_host *host, void **instance) {
    const int status = g_body ? g_body(services, host) : ADF_OK;
    if (status == ADF_OK) *instance = new int(7);
    return status;
}
void fake_destroy(void *instance) {
    ++g_destroyed;
    delete static_cast<int *>(instance);
}
int fake_check(void *, const char *, int, double) { return ADF_OK; }

const adf_check_ops kFakeOps = {sizeof(adf_check_ops), fake_check};
const adf_plugin_descriptor kFake = {sizeof(adf_plugin_descriptor),
                                     ADF_ABI_MAJOR,
                                     ADF_ABI_MINOR,
                                     ADF_KIND_CHECK,
                                     0,
                                     "fake-check",
                                     "1.0.0",
                                     "compiled into the unit tests",
                                     fake_create,
                                     fake_destroy,
                                     &kFakeOps};

adf::config::PluginSection section(const char *settings) {
    return {"check", "fake-check", nlohmann::json::parse(settings)};
}

std::unique_ptr<Instance> create(const char *settings, Body body) {
    g_body = std::move(body);
    auto instance = Instance::create({"/test/fake-check.so", &kFake}, section(settings));
    g_body = nullptr;
    return instance;
}

// The ConfigError's message, or "" when create() succeeded.
std::string create_error(const char *settings, Body body) {
    try {
        create(settings, std::move(body));
    } catch (const ConfigError &e) {
        g_body = nullptr;
        return e.what();
    }
    return "";
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

// Typed access to the raw services, returning status and value.
struct Raw {
    const adf_host_services *s;
    adf_host *h;
    template <class T>
    struct Got {
        int status;
        T value;
    };
    Got<int64_t> integer(const char *path, int64_t min = 1, int64_t max = 65535) {
        int64_t v = -1;
        const int status = s->config_integer(h, path, min, max, &v);
        return {status, v};
    }
    Got<double> number(const char *path, double min = 0, double max = 10) {
        double v = -1;
        const int status = s->config_number(h, path, min, max, &v);
        return {status, v};
    }
    Got<int> boolean(const char *path) {
        int v = -1;
        const int status = s->config_bool(h, path, &v);
        return {status, v};
    }
    Got<std::string> string(const char *path) {
        const char *v = nullptr;
        const int status = s->config_string(h, path, &v);
        return {status, v ? v : "<unset>"};
    }
};

struct TempFile {
    std::string path;
    explicit TempFile(const std::string &content) {
        std::string pattern = "/tmp/adf-host-test-" + std::string(6, 'X');  // mkstemp template
        const int fd = mkstemp(pattern.data());
        REQUIRE(fd >= 0);
        REQUIRE(write(fd, content.data(), content.size()) == static_cast<ssize_t>(content.size()));
        close(fd);
        path = pattern;
    }
    ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE("the services table announces its size and ABI") {
    auto instance = create("{}", nullptr);
    const adf_host_services *s = instance->services();
    CHECK(s->struct_size == sizeof(adf_host_services));
    CHECK(s->abi_major == ADF_ABI_MAJOR);
    CHECK(s->abi_minor == ADF_ABI_MINOR);
    CHECK(instance->name() == "fake-check");
    CHECK(&instance->descriptor() == &kFake);
    CHECK(*static_cast<int *>(instance->handle()) == 7);
}

TEST_CASE("integers: integral, in range, and never booleans or strings") {
    std::map<std::string, Raw::Got<int64_t>> got;
    const std::string error = create_error(
        R"({"port": 8080, "whole": 5.0, "frac": 5.5, "text": "x", "flag": true,
            "big": 70000, "huge": 18446744073709551615, "neg": -3})",
        [&](const adf_host_services *s, adf_host *h) {
            Raw raw{s, h};
            for (const char *key : {"port", "whole", "frac", "text", "flag", "big", "huge"})
                got[key] = raw.integer((std::string("/") + key).c_str());
            got["neg"] = raw.integer("/neg", INT64_MIN, INT64_MAX);
            got["absent"] = raw.integer("/absent");
            return ADF_BAD_CONFIG;
        });
    CHECK(got["port"].status == ADF_OK);
    CHECK(got["port"].value == 8080);
    CHECK(got["whole"].status == ADF_OK);
    CHECK(got["whole"].value == 5);
    CHECK(got["neg"].value == -3);
    CHECK(got["absent"].status == ADF_ABSENT);
    CHECK(got["absent"].value == -1);  // untouched
    for (const char *bad : {"frac", "text", "flag", "big", "huge"}) {
        INFO(bad);
        CHECK(got[bad].status == ADF_BAD_CONFIG);
        CHECK(got[bad].value == -1);
    }
    CHECK(contains(error, "check.frac: expected an integer from 1 to 65535, got 5.5\n"));
    CHECK(contains(error, "check.text: expected an integer from 1 to 65535, got \"x\"\n"));
    CHECK(contains(error, "check.flag: expected an integer from 1 to 65535, got true\n"));
    CHECK(contains(error, "check.big: expected an integer from 1 to 65535, got 70000\n"));
    CHECK(contains(error, "check.huge: expected an integer from 1 to 65535"));
    CHECK_FALSE(contains(error, "check.port"));
}

TEST_CASE("numbers, booleans and open-ended ranges") {
    std::map<std::string, Raw::Got<double>> numbers;
    std::map<std::string, Raw::Got<int>> booleans;
    const std::string error = create_error(
        R"({"t": 1.5, "i": 2, "b": false, "s": "1", "low": -1, "on": true, "off": false,
            "one": 1, "count": 0})",
        [&](const adf_host_services *s, adf_host *h) {
            Raw raw{s, h};
            for (const char *key : {"t", "i", "b", "s"})
                numbers[key] = raw.number((std::string("/") + key).c_str());
            numbers["low"] = raw.number("/low", 0, HUGE_VAL);
            for (const char *key : {"on", "off", "one"})
                booleans[key] = raw.boolean((std::string("/") + key).c_str());
            raw.integer("/count", 1, INT64_MAX);
            return ADF_BAD_CONFIG;
        });
    CHECK(numbers["t"].value == 1.5);
    CHECK(numbers["i"].value == 2.0);
    CHECK(numbers["b"].status == ADF_BAD_CONFIG);
    CHECK(numbers["s"].status == ADF_BAD_CONFIG);
    CHECK(booleans["on"].value == 1);
    CHECK(booleans["off"].status == ADF_OK);
    CHECK(booleans["off"].value == 0);
    CHECK(booleans["one"].status == ADF_BAD_CONFIG);
    CHECK(contains(error, "check.b: expected a number from 0 to 10, got false"));
    CHECK(contains(error, "check.s: expected a number from 0 to 10, got \"1\""));
    CHECK(contains(error, "check.low: expected a number of at least 0, got -1"));
    CHECK(contains(error, "check.one: expected true or false, got 1"));
    CHECK(contains(error, "check.count: expected an integer of at least 1, got 0"));
}

TEST_CASE("strings come inline, from the environment or from a file") {
    TempFile secret("s3cret-from-file\n");
    TempFile two_lines("line one\nline two\n\n");
    setenv("ADF_TEST_HOST_SECRET", "s3cret-from-env", 1);
    unsetenv("ADF_TEST_HOST_MISSING");
    std::map<std::string, Raw::Got<std::string>> got;
    const std::string settings = R"({"inline": "plain", "env": {"env": "ADF_TEST_HOST_SECRET"},
        "file": {"file": ")" + secret.path + R"("}, "two": {"file": ")" + two_lines.path + R"("},
        "missing_env": {"env": "ADF_TEST_HOST_MISSING"},
        "missing_file": {"file": "/nonexistent/secret"},
        "other": {"vault": "x"}, "number": 5, "as_int": {"env": "ADF_TEST_HOST_SECRET"}})";
    const std::string error =
        create_error(settings.c_str(), [&](const adf_host_services *s, adf_host *h) {
            Raw raw{s, h};
            for (const char *key :
                 {"inline", "env", "file", "two", "missing_env", "missing_file", "other", "number"})
                got[key] = raw.string((std::string("/") + key).c_str());
            raw.integer("/as_int");
            return ADF_BAD_CONFIG;
        });
    CHECK(got["inline"].value == "plain");
    CHECK(got["env"].value == "s3cret-from-env");
    CHECK(got["file"].value == "s3cret-from-file");
    CHECK(got["two"].value == "line one\nline two\n");  // only one newline goes
    CHECK(got["missing_env"].status == ADF_BAD_CONFIG);
    CHECK(contains(error, "check.missing_env: environment variable ADF_TEST_HOST_MISSING is not set"));
    CHECK(contains(error, "check.missing_file: {\"file\": \"/nonexistent/secret\"}: No such file "
                          "or directory"));
    CHECK(contains(error, "check.other: expected a string, {\"env\": NAME} or {\"file\": PATH}, "
                          "got {\"vault\":\"x\"}"));
    CHECK(contains(error, "check.number: expected a string"));
    CHECK(contains(error, "check.as_int: expected an integer"));
    // Secrets never reach an error message.
    CHECK_FALSE(contains(error, "s3cret"));
    unsetenv("ADF_TEST_HOST_SECRET");
}

TEST_CASE("a {\"file\"} string is read only from a regular file of at most 64 KiB") {
    TempFile at_limit(std::string(adf::plugin::kMaxSecretFileBytes, 'k'));
    TempFile over_limit(std::string(adf::plugin::kMaxSecretFileBytes + 1, 'k'));
    const std::string fifo = "/tmp/adf-host-fifo-" + std::to_string(getpid());
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    std::map<std::string, Raw::Got<std::string>> got;
    const std::string settings = R"({"zero": {"file": "/dev/zero"}, "fifo": {"file": ")" + fifo +
                                 R"("}, "dir": {"file": "/tmp"}, "at": {"file": ")" +
                                 at_limit.path + R"("}, "over": {"file": ")" + over_limit.path +
                                 R"("}})";
    const std::string error =
        create_error(settings.c_str(), [&](const adf_host_services *s, adf_host *h) {
            Raw raw{s, h};
            for (const char *key : {"zero", "fifo", "dir", "at", "over"})
                got[key] = raw.string((std::string("/") + key).c_str());
            return ADF_BAD_CONFIG;
        });
    std::remove(fifo.c_str());
    CHECK(contains(error, "check.zero: {\"file\": \"/dev/zero\"}: is a character device: only "
                          "regular files are read"));
    CHECK(contains(error, "check.fifo: {\"file\": \"" + fifo +
                              "\"}: is a FIFO: only regular files are read"));
    CHECK(contains(error, "check.dir: {\"file\": \"/tmp\"}: is a directory: only regular files "
                          "are read"));
    CHECK(got["at"].status == ADF_OK);
    CHECK(got["at"].value.size() == adf::plugin::kMaxSecretFileBytes);
    CHECK(contains(error, "check.over: {\"file\": \"" + over_limit.path +
                              "\"}: is 65537 bytes, more than the limit of 65536 bytes"));
    for (const char *key : {"zero", "fifo", "dir", "over"}) {
        CAPTURE(key);
        CHECK(got[key].status == ADF_BAD_CONFIG);
    }
    // The content of a file never reaches a message, even a refused one.
    CHECK_FALSE(contains(error, "kkkk"));
}

TEST_CASE("member names of a large object come in order, forwards and back") {
    std::string settings = R"({"headers": {)";
    constexpr int kMembers = 20000;
    for (int i = 0; i < kMembers; ++i)
        settings += (i ? ", " : "") + fmt::format("\"h{:05}\": \"v\"", i);
    settings += "}}";
    std::vector<std::string> forwards, backwards;
    const std::string error =
        create_error(settings.c_str(), [&](const adf_host_services *s, adf_host *h) {
            const char *name = nullptr;
            for (size_t i = 0; s->config_member(h, "/headers", i, &name) == ADF_OK; ++i)
                forwards.emplace_back(name);
            for (size_t i = kMembers; i-- > 0;) {
                REQUIRE(s->config_member(h, "/headers", i, &name) == ADF_OK);
                backwards.emplace_back(name);
            }
            // Another object in between, then back: each lookup stands alone.
            CHECK(s->config_member(h, "", 0, &name) == ADF_OK);
            CHECK(std::string(name) == "headers");
            CHECK(s->config_member(h, "/headers", 7, &name) == ADF_OK);
            CHECK(std::string(name) == "h00007");
            return ADF_OK;
        });
    CHECK(error.empty());
    REQUIRE(forwards.size() == kMembers);
    CHECK(forwards.front() == "h00000");
    CHECK(forwards[12345] == "h12345");
    CHECK(forwards.back() == "h19999");
    std::reverse(backwards.begin(), backwards.end());
    CHECK(backwards == forwards);
}

TEST_CASE("a plugin's errors and log lines are cut at 8 KiB") {
    const std::string huge(1 << 20, 'e');
    auto instance = create("{}", nullptr);
    instance->services()->set_error(instance->host(), huge.c_str());
    const std::string error = instance->take_error();
    CHECK(error.size() == adf::text::kMaxPluginText + 3);
    CHECK(error.substr(error.size() - 4) == "e...");

    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_NONBLOCK) == 0);
    const adf::log::Options saved = adf::log::options();
    adf::log::Options options = saved;
    options.fd = pipe_fds[1];
    adf::log::configure(options);
    instance->services()->log(instance->host(), ADF_LOG_ERROR, huge.c_str());
    adf::log::configure(saved);
    std::string line(2 * adf::text::kMaxPluginText, '\0');
    const ssize_t n = read(pipe_fds[0], line.data(), line.size());
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    REQUIRE(n > 0);
    line.resize(static_cast<size_t>(n));
    CHECK(line.back() == '\n');  // the whole line, one write
    CHECK(line.size() < adf::text::kMaxPluginText + 200);
    CHECK(contains(line, std::string(100, 'e') + "..."));
}

TEST_CASE("host-owned strings stay valid for the life of the instance") {
    const char *kept = nullptr;
    auto instance = create(R"({"name": "value"})", [&](const adf_host_services *s, adf_host *h) {
        return s->config_string(h, "/name", &kept);
    });
    Raw raw{instance->services(), instance->host()};
    for (int i = 0; i < 100; ++i) raw.string("/name");
    CHECK(std::string(kept) == "value");
}

TEST_CASE("paths are JSON Pointers with ~0 and ~1 escapes and array indices") {
    std::map<std::string, Raw::Got<int64_t>> got;
    const char *settings =
        R"({"a/b": 1, "t~n": 2, "list": [10, 20], "obj": {"x/y": {"z": 3}}, "c": 4})";
    const std::string error = create_error(settings, [&](const adf_host_services *s, adf_host *h) {
        Raw raw{s, h};
        for (const char *path : {"/a~1b", "/t~0n", "/list/1", "/list/2", "/list/01", "/list/x",
                                 "/obj/x~1y/z", "/obj/x/y", "/c/deeper", "c", "/bad~2"})
            got[path] = raw.integer(path, 0, 100);
        return ADF_OK;
    });
    CHECK(got["/a~1b"].value == 1);
    CHECK(got["/t~0n"].value == 2);
    CHECK(got["/list/1"].value == 20);
    CHECK(got["/list/2"].status == ADF_ABSENT);
    CHECK(got["/list/01"].status == ADF_ABSENT);
    CHECK(got["/list/x"].status == ADF_ABSENT);
    CHECK(got["/obj/x~1y/z"].value == 3);
    CHECK(got["/obj/x/y"].status == ADF_ABSENT);
    CHECK(got["/c/deeper"].status == ADF_ABSENT);
    CHECK(got["c"].status == ADF_BAD_CONFIG);
    CHECK(got["/bad~2"].status == ADF_BAD_CONFIG);
    CHECK(contains(error, "plugin fake-check asked for \"c\", which is not a JSON Pointer"));
    // Every key was asked about (nested reads count for their top-level key).
    CHECK_FALSE(contains(error, "unknown key"));
}

TEST_CASE("objects: counting, member names, JSON text, presence") {
    std::vector<std::string> members;
    std::string headers_json, whole;
    int member_past_end = -1, member_of_array = -1, count_of_scalar = -1, has_absent = -1;
    size_t list_count = 0;
    const std::string error = create_error(
        R"({"headers": {"X-B": "b", "Host": "a"}, "list": [1, 2, 3], "port": 80})",
        [&](const adf_host_services *s, adf_host *h) {
            adf::Host host(s, h);
            members = host.members("/headers");
            headers_json = host.json("/headers").value_or("");
            const char *name = nullptr;
            member_past_end = s->config_member(h, "/headers", 2, &name);
            member_of_array = s->config_member(h, "/list", 0, &name);
            s->config_count(h, "/list", &list_count);
            size_t n = 0;
            count_of_scalar = s->config_count(h, "/port", &n);
            has_absent = s->config_has(h, "/nothing");
            CHECK(s->config_has(h, "/port") == ADF_OK);
            whole = host.json("").value_or("");
            return ADF_OK;
        });
    CHECK(members == std::vector<std::string>{"Host", "X-B"});
    CHECK(headers_json == R"({"Host":"a","X-B":"b"})");
    CHECK(member_past_end == ADF_ABSENT);
    CHECK(member_of_array == ADF_BAD_CONFIG);
    CHECK(list_count == 3);
    CHECK(count_of_scalar == ADF_BAD_CONFIG);
    CHECK(has_absent == ADF_ABSENT);
    CHECK(contains(whole, "\"port\":80"));
    CHECK(contains(error, "check.list: expected an object, got [1,2,3]"));
    CHECK(contains(error, "check.port: expected an array or an object, got 80"));
}

TEST_CASE("taking the whole section as JSON accepts every key") {
    auto instance = create(R"({"anything": 1, "else": [2]})",
                           [&](const adf_host_services *s, adf_host *h) {
                               const char *json = nullptr;
                               return s->config_json(h, "", &json);
                           });
    CHECK(instance != nullptr);
}

TEST_CASE("keys the plugin never asked about are rejected, and the instance destroyed") {
    g_destroyed = 0;
    const std::string error =
        create_error(R"({"port": 80, "prot": 81, "zz": true})",
                     [&](const adf_host_services *s, adf_host *h) {
                         int64_t port = 0;
                         s->config_integer(h, "/port", 1, 65535, &port);
                         return ADF_OK;
                     });
    CHECK(error == "check.prot: unknown key for plugin fake-check\n"
                   "check.zz: unknown key for plugin fake-check");
    CHECK(g_destroyed == 1);

    // Asking about a key counts even when the plugin then uses its default.
    CHECK(create_error(R"({"port": 80})", [&](const adf_host_services *s, adf_host *h) {
              s->config_has(h, "/port");
              return ADF_OK;
          }) == "");
}

TEST_CASE("create() failures become ConfigErrors naming slot, plugin and keys") {
    g_destroyed = 0;
    SUBCASE("config errors recorded by the plugin, one per line, with unknown keys") {
        const std::string error =
            create_error(R"({"low": 5, "high": 1, "typo": 0})",
                         [&](const adf_host_services *s, adf_host *h) {
                             adf::Host host(s, h);
                             host.integer("/low", 0, 0, 10);
                             host.integer("/high", 0, 0, 10);
                             host.config_error("/high", "must not be below low (5)");
                             host.config_error("", "is inconsistent");
                             return ADF_BAD_CONFIG;
                         });
        CHECK(error == "check.high: must not be below low (5)\n"
                       "check: is inconsistent\n"
                       "check.typo: unknown key for plugin fake-check");
    }
    SUBCASE("ADF_BAD_CONFIG without a recorded error still says who rejected what") {
        const std::string error = create_error(
            "{}", [&](const adf_host_services *, adf_host *) { return ADF_BAD_CONFIG; });
        CHECK(error == "check: plugin fake-check rejected its configuration");
    }
    SUBCASE("any other failure: failed to start, with the plugin's reason") {
        const std::string error = create_error("{}", [&](const adf_host_services *s, adf_host *h) {
            s->set_error(h, "cannot open /dev/widget: Permission denied");
            return ADF_FAILED;
        });
        CHECK(error ==
              "check: plugin fake-check failed to start: cannot open /dev/widget: Permission denied");
        CHECK(contains(create_error("{}", [&](const adf_host_services *, adf_host *) {
                           return ADF_TRANSIENT;
                       }),
                       "check: plugin fake-check failed to start: transient"));
    }
    SUBCASE("an exception escaping create() is caught") {
        const std::string error =
            create_error("{}", [&](const adf_host_services *, adf_host *) -> int {
                throw std::runtime_error("kaboom");
            });
        CHECK(contains(error, "failed to start: an exception escaped its create(): kaboom"));
    }
    CHECK(g_destroyed == 0);  // a failed create() is never followed by destroy()
}

TEST_CASE("NULL arguments from a plugin are config errors, not crashes") {
    std::vector<int> statuses;
    const std::string error = create_error(R"({"a": 1})", [&](const adf_host_services *s,
                                                             adf_host *h) {
        const char *text = nullptr;
        int64_t number = 0;
        statuses.push_back(s->config_string(h, nullptr, &text));
        statuses.push_back(s->config_string(h, "/a", nullptr));
        statuses.push_back(s->config_integer(nullptr, "/a", 0, 1, &number));
        statuses.push_back(s->config_json(h, "/a", nullptr));
        s->log(h, ADF_LOG_DEBUG, nullptr);
        s->set_error(h, nullptr);
        s->set_error(nullptr, "nobody");
        return ADF_OK;
    });
    CHECK(statuses == std::vector<int>(4, ADF_BAD_CONFIG));
    CHECK(contains(error, "plugin fake-check passed a NULL config path"));
    CHECK(contains(error, "check.a: plugin fake-check passed a NULL result pointer"));
}

TEST_CASE("set_error: the last one wins, take_error clears it") {
    auto instance = create("{}", [&](const adf_host_services *s, adf_host *h) {
        s->set_error(h, "during create, but create succeeded");
        return ADF_OK;
    });
    CHECK(instance->take_error() == "");  // not carried into the first op
    instance->services()->set_error(instance->host(), "first");
    instance->services()->set_error(instance->host(), "second");
    CHECK(instance->take_error() == "second");
    CHECK(instance->take_error() == "");
}

TEST_CASE("plugin log lines carry the plugin name and the call context") {
    int pipe_fds[2];
    REQUIRE(pipe2(pipe_fds, O_NONBLOCK) == 0);
    const adf::log::Options saved = adf::log::options();
    adf::log::Options options = saved;
    options.level = adf::log::Level::Debug;
    options.format = adf::log::Format::Text;
    options.target = adf::log::Target::Stderr;
    options.fd = pipe_fds[1];
    adf::log::configure(options);

    auto instance = create("{}", nullptr);
    instance->set_context({"www.example.test", "127.0.0.12"});
    instance->services()->log(instance->host(), ADF_LOG_WARNING, "connection refused");
    instance->services()->log(instance->host(), 99, "out-of-range level");

    adf::log::configure(saved);
    char buffer[4096] = {0};
    const ssize_t n = read(pipe_fds[0], buffer, sizeof buffer - 1);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    REQUIRE(n > 0);
    const std::string lines(buffer, static_cast<size_t>(n));
    CHECK(contains(lines, "WARNING"));
    CHECK(contains(lines, "connection refused"));
    CHECK(contains(lines, "fqdn=www.example.test"));
    CHECK(contains(lines, "peer=127.0.0.12"));
    CHECK(contains(lines, "plugin=fake-check"));
    CHECK(contains(lines, "CRITICAL"));  // level 99 is clamped, not dropped
}

TEST_CASE("instances are destroyed exactly once") {
    g_destroyed = 0;
    { auto instance = create("{}", nullptr); }
    CHECK(g_destroyed == 1);
}

TEST_CASE("records: validated, canonical, sorted numerically, duplicates merged") {
    RecordCollector collector(ADF_FAMILY_IPV4);
    const adf_host_services *s = create("{}", nullptr)->services();
    auto emit = [&](const char *address, uint32_t ttl, const char *note) {
        return s->emit_record(collector.sink(), address, ttl, note);
    };
    CHECK(emit("10.0.0.10", 60, "web-10") == ADF_OK);
    CHECK(emit(" 10.0.0.9\n", 300, nullptr) == ADF_OK);
    CHECK(emit("10.0.0.9", 60, "web-9") == ADF_OK);
    CHECK(emit("9.1.1.1", 60, "") == ADF_OK);
    CHECK(collector.valid());
    const auto records = collector.take();
    REQUIRE(records.size() == 3);
    CHECK(records[0].address.text() == "9.1.1.1");
    CHECK(records[1].address.text() == "10.0.0.9");
    CHECK(records[1].ttl == 60);
    CHECK(records[1].note == "web-9");
    CHECK(records[2].address.text() == "10.0.0.10");
    CHECK(records[2].note == "web-10");
    CHECK(collector.take().empty());
}

TEST_CASE("records: anything but an address of the family spoils the whole read") {
    const adf_host_services *s = create("{}", nullptr)->services();
    RecordCollector v4(ADF_FAMILY_IPV4);
    CHECK(s->emit_record(v4.sink(), "127.0.0.11", 60, nullptr) == ADF_OK);
    CHECK(s->emit_record(v4.sink(), "<html>404\n</html>", 60, nullptr) == ADF_FAILED);
    CHECK(s->emit_record(v4.sink(), "::1", 60, nullptr) == ADF_FAILED);
    CHECK_FALSE(v4.valid());
    CHECK(v4.invalid() == "the plugin emitted \"<html>404\\n</html>\", which is not an IPv4 address");
    CHECK(s->emit_record(v4.sink(), nullptr, 60, nullptr) == ADF_FAILED);
    CHECK(s->emit_record(nullptr, "127.0.0.1", 60, nullptr) == ADF_FAILED);

    RecordCollector v6(ADF_FAMILY_IPV6);
    CHECK(s->emit_record(v6.sink(), "2001:DB8:0::1", 60, nullptr) == ADF_OK);
    CHECK(s->emit_record(v6.sink(), "::2", 60, nullptr) == ADF_OK);
    CHECK(v6.valid());
    const auto records = v6.take();
    REQUIRE(records.size() == 2);
    CHECK(records[0].address.text() == "::2");
    CHECK(records[1].address.text() == "2001:db8::1");
    CHECK(records[1].address.family == 6);

    RecordCollector wrong_family(ADF_FAMILY_IPV6);
    CHECK(s->emit_record(wrong_family.sink(), "127.0.0.1", 60, nullptr) == ADF_FAILED);
    CHECK(contains(wrong_family.invalid(), "not an IPv6 address"));
}
