#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "config/peers.h"
#include "peer_test_support.h"

using adf::config::Peers;
using adf::config::read_peers;
using adf::config::Validator;
using nlohmann::json;

namespace {

// base64 of the bytes 0..31 (peer_test::test_key()).
const char *const kKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
// base64 of the bytes 128..159.
const char *const kOtherKey = "gIGCg4SFhoeIiYqLjI2Oj5CRkpOUlZaXmJmam5ydnp8=";

struct Parsed {
    Peers peers;
    std::vector<std::string> errors;
};

Parsed parse(const json &section) {
    Validator v("x.json");
    Parsed p;
    p.peers = read_peers(v, section);
    p.errors = v.take_errors();
    return p;
}

// The one error of `section` ("" when none; every error when more).
std::string error_of(const json &section) {
    const Parsed p = parse(section);
    std::string all;
    for (const auto &e : p.errors) all += (all.empty() ? "" : "\n") + e;
    return all;
}

json with_key(json section) {
    section["key"] = kKey;
    return section;
}

class KeyFile {
   public:
    explicit KeyFile(const std::string &content) {
        char name[] = "/tmp/adf-peer-key-XXXXXX";
        const int fd = mkstemp(name);
        REQUIRE(fd >= 0);
        close(fd);
        path_ = name;
        std::ofstream(path_) << content;
    }
    ~KeyFile() { std::remove(path_.c_str()); }
    const std::string &path() const { return path_; }

   private:
    std::string path_;
};

}  // namespace

TEST_CASE("config peers: a key alone gets the documented defaults") {
    const Parsed p = parse(with_key(json::object()));
    REQUIRE(p.errors.empty());
    CHECK(p.peers.keys.signing.bytes == peer_test::test_key().bytes);
    CHECK_FALSE(p.peers.keys.also_accepted);
    CHECK_FALSE(p.peers.listen);
    CHECK(p.peers.port == 7953);
    CHECK_FALSE(p.peers.ask_timeout);
    CHECK(p.peers.agreement == 0);
    CHECK(p.peers.max_asked == 8);
    CHECK(p.peers.clock_window == 30);
    CHECK(p.peers.hysteresis.rise == 2);
    CHECK(p.peers.hysteresis.fall == 1);
    const auto &d = p.peers.hysteresis.damping;
    CHECK(d.enabled);
    CHECK(d.penalty == 1000);
    CHECK(d.suppress == 2000);
    CHECK(d.reuse == 750);
    CHECK(d.half_life == 60);
    CHECK(d.max_suppress == 300);
}

TEST_CASE("config peers: every key set") {
    const Parsed p = parse(json::parse(std::string(R"({
        "key": ")") + kKey + R"(", "accept_key": ")" +
                                       kOtherKey + R"(",
        "listen": "2001:db8::1", "port": 17953, "ask_timeout": 1.5, "agreement": 2,
        "max_asked": 4, "clock_window": 10, "rise": 3, "fall": 2,
        "damping": {"penalty": 500, "suppress": 3000, "reuse": 800, "half_life": 900,
                    "max_suppress": 3600}
    })"));
    REQUIRE(p.errors.empty());
    CHECK(p.peers.keys.also_accepted->bytes.size() == 32);
    CHECK(p.peers.listen->text() == "2001:db8::1");
    CHECK(p.peers.port == 17953);
    CHECK(*p.peers.ask_timeout == 1.5);
    CHECK(p.peers.agreement == 2);
    CHECK(p.peers.max_asked == 4);
    CHECK(p.peers.clock_window == 10);
    CHECK(p.peers.hysteresis.rise == 3);
    CHECK(p.peers.hysteresis.fall == 2);
    CHECK(p.peers.hysteresis.damping.half_life == 900);
    CHECK(p.peers.hysteresis.damping.max_suppress == 3600);
    CHECK(parse(with_key(json{{"agreement", "majority"}, {"ask_timeout", "auto"}})).errors.empty());
    CHECK_FALSE(parse(with_key(json{{"damping", false}})).peers.hysteresis.damping.enabled);
}

TEST_CASE("config peers: the key from a file or the environment, never quoted in errors") {
    KeyFile file(std::string(kKey) + "\n");
    Parsed p = parse(json{{"key", {{"file", file.path()}}}});
    REQUIRE(p.errors.empty());
    CHECK(p.peers.keys.signing.bytes == peer_test::test_key().bytes);
    setenv("ADF_TEST_POOL_KEY", kOtherKey, 1);
    p = parse(json{{"key", {{"env", "ADF_TEST_POOL_KEY"}}}});
    REQUIRE(p.errors.empty());
    CHECK(p.peers.keys.signing.bytes.size() == 32);
    unsetenv("ADF_TEST_POOL_KEY");
    CHECK(error_of(json{{"key", {{"env", "ADF_TEST_POOL_KEY"}}}}) ==
          "x.json: peers.key: environment variable ADF_TEST_POOL_KEY is not set");
    CHECK(error_of(json{{"key", {{"file", "/nonexistent/pool.key"}}}}) ==
          "x.json: peers.key: {\"file\": \"/nonexistent/pool.key\"}: No such file or directory");
    KeyFile weak("Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZSB0d2ljZSE=\n");
    const std::string message = error_of(json{{"key", {{"file", weak.path()}}}});
    CHECK(message ==
          "x.json: peers.key: the key decodes to printable text (a password?), not to "
          "random bytes (make one with `openssl rand -base64 32`)");
    CHECK(message.find("Y29y") == std::string::npos);
}

TEST_CASE("config peers: what is wrong is named with its path") {
    CHECK(error_of(json::object()).find("x.json: peers.key: missing") == 0);
    CHECK(error_of(json::array()) ==
          "x.json: peers: expected an object {\"key\": ..., ...}, got []");
    CHECK(error_of(json{{"key", "AAAA"}}) ==
          "x.json: peers.key: the key is 3 bytes; a pool key is 32 to 64 random bytes (make one "
          "with `openssl rand -base64 32`)");
    CHECK(error_of(json{{"key", 42}}) ==
          "x.json: peers.key: expected a string, {\"env\": NAME} "
          "or {\"file\": PATH}, got 42");
    CHECK(error_of(with_key(json{{"accept_key", kKey}})) ==
          "x.json: peers.accept_key: the same key as peers.key (it is for the other key during "
          "a rotation)");
    CHECK(error_of(with_key(json{{"listen", "eth0"}})) ==
          "x.json: peers.listen: expected an IP address (leave it out to listen on every "
          "address), got \"eth0\"");
    CHECK(error_of(with_key(json{{"port", 0}})) ==
          "x.json: peers.port: expected an integer from 1 to 65535, got 0");
    CHECK(error_of(with_key(json{{"ask_timeout", 0}})) ==
          "x.json: peers.ask_timeout: expected \"auto\" or a number from 0.01 to 60, got 0");
    CHECK(error_of(with_key(json{{"agreement", "most"}})) ==
          "x.json: peers.agreement: expected \"majority\" or an integer from 1 to 1024, got "
          "\"most\"");
    CHECK(error_of(with_key(json{{"max_asked", 0}})) ==
          "x.json: peers.max_asked: expected an integer from 1 to 1024, got 0");
    CHECK(error_of(with_key(json{{"clock_window", 0.5}})) ==
          "x.json: peers.clock_window: expected a number from 1 to 3600, got 0.5");
    CHECK(error_of(with_key(json{{"rise", 0}})) ==
          "x.json: peers.rise: expected an integer from 1 to 100, got 0");
    CHECK(error_of(with_key(json{{"fall", 101}})) ==
          "x.json: peers.fall: expected an integer from 1 to 100, got 101");
    CHECK(error_of(with_key(json{{"damping", true}})) ==
          "x.json: peers.damping: expected false or an object {\"penalty\": ..., \"suppress\": "
          "...}, got true");
    CHECK(error_of(with_key(json{{"damping", {{"half_life", 0}}}})) ==
          "x.json: peers.damping.half_life: expected a number from 1 to 1000000000, got 0");
    CHECK(error_of(with_key(json{{"damping", {{"reuse", 2500}}}})) ==
          "x.json: peers.damping.reuse: must be below suppress (2000), got 2500");
    CHECK(error_of(with_key(json{{"damping", {{"max_suppress", 30}}}})) ==
          "x.json: peers.damping.max_suppress: 30 s is too short: the penalty could never exceed "
          "suppress (2000); it must exceed half_life x log2(suppress / reuse) = 84.9022 s");
    CHECK(error_of(with_key(json{{"damping", {{"decay", 1}}}})) ==
          "x.json: peers.damping.decay: unknown key");
    CHECK(error_of(with_key(json{{"keys", 1}})) == "x.json: peers.keys: unknown key");
}

TEST_CASE("config peers: every error at once") {
    const Parsed p = parse(json{{"port", -1}, {"rise", "two"}, {"listen", 4}});
    CHECK(p.errors.size() == 4);  // and the missing key
}

TEST_CASE("config peers: the ask deadline: long enough for a check made now, or as configured") {
    Peers peers;
    CHECK(adf::config::ask_deadline(peers, 0.5, 2) == doctest::Approx(1.25));
    CHECK(adf::config::ask_deadline(peers, 2, 3) == doctest::Approx(6.25));
    CHECK(adf::config::ask_deadline(peers, 30, 3) == doctest::Approx(60));
    peers.ask_timeout = 0.8;
    CHECK(adf::config::ask_deadline(peers, 2, 3) == doctest::Approx(0.8));
}
