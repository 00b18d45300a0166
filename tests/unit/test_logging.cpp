#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "logging/log.h"

namespace {

// Points the logger at a pipe for the test's lifetime and reads back what
// was written; the logger's previous options come back afterwards.
class CapturedLog {
   public:
    explicit CapturedLog(adf::log::Options options = {}) : previous_(adf::log::options()) {
        // Only the reading end is non-blocking: writers behave as on stderr.
        REQUIRE(pipe2(fds_, O_CLOEXEC) == 0);
        REQUIRE(fcntl(fds_[0], F_SETFL, O_NONBLOCK) == 0);
        options.fd = fds_[1];
        adf::log::configure(options);
    }
    ~CapturedLog() {
        adf::log::configure(previous_);
        close(fds_[0]);
        close(fds_[1]);
    }
    CapturedLog(const CapturedLog &) = delete;
    CapturedLog &operator=(const CapturedLog &) = delete;

    std::string text() {
        std::string out;
        char buffer[4096];
        ssize_t n;
        while ((n = read(fds_[0], buffer, sizeof buffer)) > 0) out.append(buffer, size_t(n));
        return out;
    }
    std::vector<std::string> lines() {
        std::vector<std::string> result;
        std::string all = text();
        size_t start = 0;
        for (size_t end; (end = all.find('\n', start)) != std::string::npos; start = end + 1)
            result.push_back(all.substr(start, end - start));
        CHECK(start == all.size());  // every line ends with a newline
        return result;
    }
    int write_fd() const { return fds_[1]; }

   private:
    adf::log::Options previous_;
    int fds_[2] = {-1, -1};
};

adf::log::Options json_options() {
    adf::log::Options options;
    options.format = adf::log::Format::Json;
    return options;
}

const std::string kTimestamp = R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)";

}  // namespace

TEST_CASE("logging: text lines carry a UTC timestamp, the level and the fields") {
    CapturedLog capture;
    adf::log::warning("peer 127.0.0.12 seems dead, removing it",
                 {"www.example.test", "127.0.0.12", "tcp-check", "connection refused"});
    auto lines = capture.lines();
    REQUIRE(lines.size() == 1);
    CHECK(std::regex_match(lines[0], std::regex(kTimestamp + " WARNING peer 127.0.0.12 seems dead, "
                                                "removing it fqdn=www.example.test peer=127.0.0.12 "
                                                "plugin=tcp-check reason=\"connection refused\"")));
}

TEST_CASE("logging: levels are padded so messages line up, empty fields are left out") {
    adf::log::Options options;
    options.level = adf::log::Level::Debug;
    CapturedLog capture(options);
    adf::log::debug("d");
    adf::log::info("i", {"", "", "static", ""});
    adf::log::error("e");
    adf::log::critical("c");
    auto lines = capture.lines();
    REQUIRE(lines.size() == 4);
    CHECK(lines[0].substr(25) == "DEBUG   d");
    CHECK(lines[1].substr(25) == "INFO    i plugin=static");
    CHECK(lines[2].substr(25) == "ERROR   e");
    CHECK(lines[3].substr(25) == "CRITICAL c");
}

TEST_CASE("logging: messages below the configured level are dropped") {
    adf::log::Options options;
    options.level = adf::log::Level::Warning;
    CapturedLog capture(options);
    adf::log::debug("no");
    adf::log::info("no");
    adf::log::warning("yes 1");
    adf::log::error("yes 2");
    adf::log::write(adf::log::Level::Critical, "yes 3");
    auto lines = capture.lines();
    REQUIRE(lines.size() == 3);
    CHECK(lines[0].find("yes 1") != std::string::npos);
    CHECK(lines[2].find("yes 3") != std::string::npos);
}

TEST_CASE("logging: newlines, quotes and control characters never break a line") {
    CapturedLog capture;
    adf::log::error("first\nsecond\r\x1b[31m \"quoted\"",
               {"", "", "", "HTTP 500: \"oops\"\nbody=a\\b"});
    adf::log::info("", {"", "", "", "a=b"});
    auto lines = capture.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].substr(25) ==
          R"(ERROR   first\nsecond\r\x1b[31m "quoted" reason="HTTP 500: \"oops\"\nbody=a\\b")");
    CHECK(lines[1].substr(25) == R"(INFO     reason="a=b")");
}

TEST_CASE("logging: json lines") {
    CapturedLog capture(json_options());
    adf::log::warning("peer seems dead\n\"really\"",
                 {"www.example.test", "127.0.0.12", "tcp-check", "connection refused"});
    adf::log::info("bad utf-8 \xff from a plugin");
    auto lines = capture.lines();
    REQUIRE(lines.size() == 2);
    CHECK(lines[0].find("{\"time\":") == 0);
    auto first = nlohmann::json::parse(lines[0]);
    CHECK(std::regex_match(first["time"].get<std::string>(), std::regex(kTimestamp)));
    CHECK(first["level"] == "warning");
    CHECK(first["message"] == "peer seems dead\n\"really\"");
    CHECK(first["fqdn"] == "www.example.test");
    CHECK(first["peer"] == "127.0.0.12");
    CHECK(first["plugin"] == "tcp-check");
    CHECK(first["reason"] == "connection refused");
    CHECK(first["pid"] == getpid());
    auto second = nlohmann::json::parse(lines[1]);
    CHECK(second["level"] == "info");
    CHECK(second["message"] == "bad utf-8 \xef\xbf\xbd from a plugin");
    CHECK_FALSE(second.contains("fqdn"));
    CHECK_FALSE(second.contains("reason"));
}

TEST_CASE("logging: configure again replaces the options") {
    CapturedLog capture;
    adf::log::debug("dropped");
    adf::log::Options options = adf::log::options();
    options.level = adf::log::Level::Debug;
    options.format = adf::log::Format::Json;
    adf::log::configure(options);
    CHECK(adf::log::options().format == adf::log::Format::Json);
    adf::log::debug("kept");
    auto lines = capture.lines();
    REQUIRE(lines.size() == 1);
    CHECK(nlohmann::json::parse(lines[0])["message"] == "kept");
}

TEST_CASE("logging: lines from forked children never interleave") {
    CapturedLog capture;
    // Long lines (but under PIPE_BUF) from several processes at once.
    constexpr int kChildren = 4, kLinesEach = 20;
    std::vector<pid_t> children;
    for (int child = 0; child < kChildren; ++child) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            for (int i = 0; i < kLinesEach; ++i)
                adf::log::info(std::string(2000, char('a' + child)), {"", "", "", std::to_string(i)});
            _exit(0);
        }
        children.push_back(pid);
    }
    std::string all;
    int remaining = kChildren;
    while (remaining > 0) {
        all += capture.text();  // drain so children never block on a full pipe
        int status;
        pid_t done = waitpid(-1, &status, WNOHANG);
        if (done > 0) --remaining;
        else usleep(1000);
    }
    all += capture.text();
    size_t count = 0, start = 0;
    for (size_t end; (end = all.find('\n', start)) != std::string::npos; start = end + 1, ++count) {
        std::string body = all.substr(start, end - start).substr(33, 2000);
        CHECK(body == std::string(2000, body[0]));
    }
    CHECK(count == kChildren * kLinesEach);
}

TEST_CASE("logging: level names") {
    CHECK(std::string(adf::log::level_name(adf::log::Level::Warning)) == "warning");
    CHECK(std::string(adf::log::level_name(adf::log::Level::Critical)) == "critical");
    adf::log::Level level = adf::log::Level::Info;
    CHECK(adf::log::parse_level("error", level));
    CHECK(level == adf::log::Level::Error);
    CHECK(adf::log::parse_level("DEBUG", level));
    CHECK(level == adf::log::Level::Debug);
    CHECK_FALSE(adf::log::parse_level("verbose", level));
    CHECK_FALSE(adf::log::parse_level("", level));
    CHECK(level == adf::log::Level::Debug);
}

TEST_CASE("logging: the syslog target writes nothing to the fd") {
    adf::log::Options options;
    options.target = adf::log::Target::Syslog;
    options.syslog_identity = "adf-unit-test";
    CapturedLog capture(options);
    adf::log::debug("below the level, dropped");
    CHECK(adf::log::options().syslog_identity == "adf-unit-test");
    CHECK(capture.text().empty());
}

TEST_CASE("logging: JSON lines carry the stable event name and the family") {
    CapturedLog capture(json_options());
    adf::log::error("removed peer 192.0.2.7",
                    {"www.example.test", "192.0.2.7", "route53", "dead", "peer_removed", 4});
    adf::log::info("no event");
    const auto lines = capture.lines();
    REQUIRE(lines.size() == 2);
    const auto first = nlohmann::json::parse(lines[0]);
    CHECK(first["event"] == "peer_removed");
    CHECK(first["family"] == 4);
    CHECK(nlohmann::json::parse(lines[1])["event"] == "message");
    CHECK(!nlohmann::json::parse(lines[1]).contains("family"));
}

TEST_CASE("logging: on the journal's stream each line starts with its syslog priority") {
    int fds[2];
    REQUIRE(pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0);
    struct stat info {};
    REQUIRE(fstat(fds[1], &info) == 0);
    const std::string stream = std::to_string(info.st_dev) + ":" + std::to_string(info.st_ino);
    setenv("JOURNAL_STREAM", stream.c_str(), 1);
    const auto previous = adf::log::options();
    adf::log::Options options;
    options.fd = fds[1];
    adf::log::configure(options);
    CHECK(adf::log::journal_prefixes());
    adf::log::error("e");
    adf::log::warning("w");
    adf::log::critical("c");
    adf::log::info("i");
    // Another stream (a redirect by a wrapper) is not the journal.
    setenv("JOURNAL_STREAM", "1:2", 1);
    adf::log::configure(options);
    CHECK(!adf::log::journal_prefixes());
    unsetenv("JOURNAL_STREAM");
    adf::log::configure(previous);
    char buffer[4096];
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    REQUIRE(n > 0);
    CHECK(std::string(buffer, size_t(n)) ==
          "<3>ERROR   e\n<4>WARNING w\n<2>CRITICAL c\n<6>INFO    i\n");
    close(fds[0]);
    close(fds[1]);
}
