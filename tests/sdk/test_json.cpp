// The project's one JSON layer (sdk/include/autodnsfailover/json.hpp), and
// the bounded file read of posix.hpp: hostile input is an error that says
// where, never a crash, a hang or unbounded memory.
#include <autodnsfailover/json.hpp>
#include <autodnsfailover/posix.hpp>
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

namespace {

std::string nested(std::size_t depth, char open = '[', char close = ']') {
    return std::string(depth, open) + std::string(depth, close);
}

std::string temp_path(const char *name) {
    return std::string("/tmp/adf-sdk-test-") + std::to_string(getpid()) + "-" + name;
}

}  // namespace

TEST_CASE("json::parse: a value within the depth limit parses") {
    const auto parsed = adf::json::parse(nested(adf::json::kDefaultMaxDepth));
    REQUIRE(parsed.ok());
    CHECK(parsed->is_array());
}

TEST_CASE("json::parse: one level too deep is refused with the place and the limit") {
    const auto parsed = adf::json::parse("\n  " + nested(adf::json::kDefaultMaxDepth + 1));
    REQUIRE_FALSE(parsed.ok());
    // The 65th '[' is on line 2, after two spaces and 64 brackets.
    CHECK(parsed.reason() == "2:67: JSON nested deeper than 64 levels");
}

TEST_CASE("json::parse: 300,000 levels are refused without recursion") {
    const auto parsed = adf::json::parse(nested(300000, '{', '}'));
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.reason().find("nested deeper than 64 levels") != std::string::npos);
}

TEST_CASE("json::parse: brackets inside strings and comments do not count") {
    adf::json::ParseOptions options;
    options.allow_comments = true;
    options.max_depth = 2;
    const auto parsed =
        adf::json::parse("// [[[[\n{\"a\": \"[[[[\\\"[[\", /* {{{{ */ \"b\": [1]}", options);
    REQUIRE(parsed.ok());
    CHECK((*parsed)["a"] == "[[[[\"[[");
}

TEST_CASE("json::parse: a syntax error names line and column") {
    const auto parsed = adf::json::parse("{\n  \"a\": 1,\n  \"b\" 2\n}");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.reason().rfind("3:7: JSON syntax error: ", 0) == 0);
}

TEST_CASE("json::parse: comments are refused unless allowed") {
    CHECK_FALSE(adf::json::parse("// x\n{}").ok());
    adf::json::ParseOptions options;
    options.allow_comments = true;
    CHECK(adf::json::parse("// x\n{}", options).ok());
}

TEST_CASE("json::shown: short values are shown whole") {
    CHECK(adf::json::shown(nlohmann::json::parse(R"({"a":[1,"x",null]})")) ==
          R"({"a":[1,"x",null]})");
    CHECK(adf::json::shown(nlohmann::json("text")) == "\"text\"");
}

TEST_CASE("json::shown: long values are cut at the limit") {
    nlohmann::json big = nlohmann::json::array();
    for (int i = 0; i < 100000; ++i) big.push_back(i);
    const std::string text = adf::json::shown(big, 40);
    CHECK(text.size() == 40);
    CHECK(text.rfind("[0,1,2,", 0) == 0);
    CHECK(text.substr(37) == "...");
    const std::string long_string = adf::json::shown(nlohmann::json(std::string(1 << 20, 'x')), 20);
    CHECK(long_string.size() == 20);
}

TEST_CASE("json::shown: invalid UTF-8 is replaced, not thrown") {
    CHECK_NOTHROW(adf::json::shown(nlohmann::json(std::string("\xff\xfe"))));
}

TEST_CASE("read_regular_file: reads a file within the limit") {
    const std::string path = temp_path("small");
    std::ofstream(path) << "secret\n";
    const auto text = adf::read_regular_file(path, 64);
    REQUIRE(text.ok());
    CHECK(*text == "secret\n");
    std::remove(path.c_str());
}

TEST_CASE("read_regular_file: a file over the limit is refused with both sizes") {
    const std::string path = temp_path("big");
    std::ofstream(path) << std::string(65, 'x');
    const auto text = adf::read_regular_file(path, 64);
    REQUIRE_FALSE(text.ok());
    CHECK(text.reason() == "is 65 bytes, more than the limit of 64 bytes");
    std::remove(path.c_str());
}

TEST_CASE("read_regular_file: devices, FIFOs and directories are refused at once") {
    CHECK(adf::read_regular_file("/dev/zero", 64).reason() ==
          "is a character device: only regular files are read");
    CHECK(adf::read_regular_file("/tmp", 64).reason() ==
          "is a directory: only regular files are read");
    const std::string fifo = temp_path("fifo");
    REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(adf::read_regular_file(fifo, 64).reason() ==
          "is a FIFO: only regular files are read");  // no writer: must not block
    std::remove(fifo.c_str());
    CHECK(adf::read_regular_file("/nonexistent/x", 64).reason() == "No such file or directory");
}

TEST_CASE("Result: a failure has a reason and no value") {
    const auto failed = adf::Result<int>::failure("why");
    CHECK_FALSE(failed.ok());
    CHECK(failed.reason() == "why");
    CHECK_THROWS_AS(failed.value(), std::logic_error);
    const adf::Result<int> good = 3;
    CHECK(*good == 3);
    CHECK(good.reason().empty());
}

TEST_CASE("json::parse: the text quoted from an unterminated token is cut short") {
    // nlohmann quotes everything it read of the token: here the whole rest.
    adf::json::ParseOptions options;
    options.allow_comments = true;
    const auto parsed =
        adf::json::parse("{\"a\": 1, /* " + std::string(100000, 'x'), options);
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.reason().size() < 300);
    CHECK(parsed.reason().find("last read: '...xxxx") != std::string::npos);
}

TEST_CASE("json::parse: a number too large for a double is an error, cut short") {
    const auto parsed = adf::json::parse("[1" + std::string(400, '0') + "e999]");
    REQUIRE_FALSE(parsed.ok());
    CHECK(parsed.reason().rfind("JSON value error: number overflow parsing", 0) == 0);
    CHECK(parsed.reason().size() <= 140);
}
