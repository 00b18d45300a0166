// The rfc2136 client's compare-and-swap against a real BIND: an update whose
// expected set is stale must be refused by the server and change nothing.
#include <doctest/doctest.h>

#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "client.h"
#include "named_server.h"

using rfc2136::Client;
using rfc2136::Operation;
using rfc2136_test::NamedServer;

namespace {

const char *const kName = "www.example.test";

std::vector<std::string> addresses(const std::vector<adf::Record> &records) {
    std::vector<std::string> out;
    for (const adf::Record &record : records) out.push_back(record.address);
    std::sort(out.begin(), out.end());
    return out;
}

std::vector<adf::Record> set_of(std::initializer_list<const char *> list, uint32_t ttl = 60) {
    std::vector<adf::Record> out;
    for (const char *address : list) out.push_back({address, "", ttl});
    return out;
}

// Runs `change` and returns the adf::Error it throws (status ADF_OK: none).
template <class F>
adf::Error failure_of(F &&change) {
    try {
        change();
    } catch (const adf::Error &e) {
        return e;
    }
    return adf::Error(ADF_OK, "no error");
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

#define REQUIRE_NAMED()                                             \
    if (!rfc2136_test::named_available()) {                          \
        MESSAGE("named (bind9) is not installed: test not run");     \
        return;                                                      \
    }

}  // namespace

TEST_CASE("an add whose expected set is stale is a conflict and changes nothing") {
    REQUIRE_NAMED();
    NamedServer server({"www 60 IN A 192.0.2.1", "www 60 IN A 192.0.2.2"});
    Client ours(server.options());
    Client other(server.options());
    const std::vector<adf::Record> read = ours.read(kName, ADF_FAMILY_IPV4);
    CHECK(addresses(read) == std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
    // Another daemon changes the set between our read and our write.
    other.add(kName, ADF_FAMILY_IPV4, read, "192.0.2.3", 60);

    const adf::Error error = failure_of([&] { ours.add(kName, ADF_FAMILY_IPV4, read, "192.0.2.4", 60); });
    CHECK(error.status() == ADF_CONFLICT);
    CHECK(contains(error.what(), "changed since it was read"));
    CHECK(contains(error.what(), "NXRRSET"));
    CHECK(addresses(ours.read(kName, ADF_FAMILY_IPV4)) ==
          std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3"});
}

TEST_CASE("a remove whose expected set is stale is a conflict and changes nothing") {
    REQUIRE_NAMED();
    NamedServer server({"www 60 IN A 192.0.2.1", "www 60 IN A 192.0.2.2", "www 60 IN A 192.0.2.3"});
    Client ours(server.options());
    Client other(server.options());
    const std::vector<adf::Record> read = ours.read(kName, ADF_FAMILY_IPV4);
    other.remove(kName, ADF_FAMILY_IPV4, read, {"192.0.2.3"});

    const adf::Error error = failure_of([&] { ours.remove(kName, ADF_FAMILY_IPV4, read, {"192.0.2.2"}); });
    CHECK(error.status() == ADF_CONFLICT);
    CHECK(contains(error.what(), "changed since it was read"));
    CHECK(addresses(ours.read(kName, ADF_FAMILY_IPV4)) ==
          std::vector<std::string>{"192.0.2.1", "192.0.2.2"});
}

TEST_CASE("several addresses go in one update, all or none") {
    REQUIRE_NAMED();
    NamedServer server({"www 60 IN A 192.0.2.1", "www 60 IN A 192.0.2.2", "www 60 IN A 192.0.2.3",
                        "www 60 IN A 192.0.2.4"});
    Client ours(server.options());
    Client other(server.options());
    const std::vector<adf::Record> read = ours.read(kName, ADF_FAMILY_IPV4);
    // A stale set refuses the whole update: neither address goes.
    other.add(kName, ADF_FAMILY_IPV4, read, "192.0.2.5", 60);
    const adf::Error error =
        failure_of([&] { ours.remove(kName, ADF_FAMILY_IPV4, read, {"192.0.2.2", "192.0.2.4"}); });
    CHECK(error.status() == ADF_CONFLICT);
    const std::vector<adf::Record> fresh = ours.read(kName, ADF_FAMILY_IPV4);
    CHECK(addresses(fresh) == std::vector<std::string>{"192.0.2.1", "192.0.2.2", "192.0.2.3",
                                                       "192.0.2.4", "192.0.2.5"});
    ours.remove(kName, ADF_FAMILY_IPV4, fresh, {"192.0.2.2", "192.0.2.4"});
    const std::vector<adf::Record> after = ours.read(kName, ADF_FAMILY_IPV4);
    CHECK(addresses(after) == std::vector<std::string>{"192.0.2.1", "192.0.2.3", "192.0.2.5"});
    // Never every record of the set, even in one update.
    const adf::Error all = failure_of(
        [&] { ours.remove(kName, ADF_FAMILY_IPV4, after, {"192.0.2.1", "192.0.2.3", "192.0.2.5"}); });
    CHECK(all.status() == ADF_FAILED);
    CHECK(contains(all.what(), "never emptied"));
}

TEST_CASE("a first add is a conflict when someone created the set meanwhile") {
    REQUIRE_NAMED();
    NamedServer server({});
    Client ours(server.options());
    Client other(server.options());
    const std::vector<adf::Record> read = ours.read(kName, ADF_FAMILY_IPV4);
    CHECK(read.empty());
    other.add(kName, ADF_FAMILY_IPV4, read, "192.0.2.7", 30);

    const adf::Error error = failure_of([&] { ours.add(kName, ADF_FAMILY_IPV4, read, "192.0.2.8", 0); });
    CHECK(error.status() == ADF_CONFLICT);
    CHECK(contains(error.what(), "YXRRSET"));
    const std::vector<adf::Record> now = ours.read(kName, ADF_FAMILY_IPV4);
    REQUIRE(now.size() == 1);
    CHECK(now[0].address == "192.0.2.7");
    CHECK(now[0].ttl == 30);
}

TEST_CASE("the expected set is compared as a set: order and TTL do not matter") {
    REQUIRE_NAMED();
    NamedServer server({"www 120 IN A 192.0.2.1", "www 120 IN A 192.0.2.2"});
    Client client(server.options());
    CHECK(client.add(kName, ADF_FAMILY_IPV4, set_of({"192.0.2.2", "192.0.2.1"}, 120), "192.0.2.3",
                     0) == 120);
    client.remove(kName, ADF_FAMILY_IPV4, set_of({"192.0.2.3", "192.0.2.1", "192.0.2.2"}, 5),
                  {"192.0.2.1"});
    const std::vector<adf::Record> now = client.read(kName, ADF_FAMILY_IPV4);
    CHECK(addresses(now) == std::vector<std::string>{"192.0.2.2", "192.0.2.3"});
    for (const adf::Record &record : now) CHECK(record.ttl == 120);
}

TEST_CASE("a new set gets the given TTL, else the default; AAAA sets work alike") {
    REQUIRE_NAMED();
    NamedServer server({});
    rfc2136::ClientOptions options = server.options();
    options.default_ttl = 42;
    Client client(options);
    CHECK(client.add("a.example.test", ADF_FAMILY_IPV4, {}, "192.0.2.1", 0) == 42);
    CHECK(client.add("b.example.test", ADF_FAMILY_IPV6, {}, "2001:db8::1", 17) == 17);
    CHECK(client.read("a.example.test", ADF_FAMILY_IPV4)[0].ttl == 42);
    const std::vector<adf::Record> six = client.read("b.example.test", ADF_FAMILY_IPV6);
    REQUIRE(six.size() == 1);
    CHECK(six[0].address == "2001:db8::1");
    CHECK(six[0].ttl == 17);
    CHECK(client.read("b.example.test", ADF_FAMILY_IPV4).empty());  // NODATA
    CHECK(client.read("nothing.example.test", ADF_FAMILY_IPV4).empty());  // NXDOMAIN
}

TEST_CASE("remove never sends a change that could empty the set") {
    REQUIRE_NAMED();
    NamedServer server({"www 60 IN A 192.0.2.1"});
    Client client(server.options());
    const std::vector<adf::Record> read = client.read(kName, ADF_FAMILY_IPV4);
    adf::Error error = failure_of([&] { client.remove(kName, ADF_FAMILY_IPV4, read, {"192.0.2.1"}); });
    CHECK(error.status() == ADF_FAILED);
    CHECK(contains(error.what(), "last record"));
    error = failure_of([&] { client.remove(kName, ADF_FAMILY_IPV4, read, {"192.0.2.9"}); });
    CHECK(error.status() == ADF_CONFLICT);
    CHECK(contains(error.what(), "does not hold 192.0.2.9"));
    CHECK(addresses(client.read(kName, ADF_FAMILY_IPV4)) == std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("TSIG failures of updates say which part of the key to check") {
    REQUIRE_NAMED();
    NamedServer server({"www 60 IN A 192.0.2.1"});
    const std::vector<adf::Record> read = Client(server.options()).read(kName, ADF_FAMILY_IPV4);

    rfc2136::TsigKey wrong_secret = server.key();
    wrong_secret.secret = rfc2136_test::random_secret();
    adf::Error error = failure_of(
        [&] { Client(server.options_with_key(wrong_secret)).add(kName, ADF_FAMILY_IPV4, read, "192.0.2.2", 0); });
    CHECK(error.status() == ADF_FAILED);
    CHECK(contains(error.what(), "BADSIG"));
    CHECK(contains(error.what(), "key_secret"));

    rfc2136::TsigKey unknown = server.key();
    unknown.name = "no-such-key";
    error = failure_of(
        [&] { Client(server.options_with_key(unknown)).add(kName, ADF_FAMILY_IPV4, read, "192.0.2.2", 0); });
    CHECK(error.status() == ADF_FAILED);
    CHECK(contains(error.what(), "BADKEY"));
    CHECK(contains(error.what(), "no-such-key"));
    CHECK(contains(error.what(), "key_name"));

    error = failure_of(
        [&] { Client(server.unsigned_options()).add(kName, ADF_FAMILY_IPV4, read, "192.0.2.2", 0); });
    CHECK(error.status() == ADF_FAILED);
    CHECK(contains(error.what(), "REFUSED"));
    CHECK(contains(error.what(), "key_name and key_secret"));

    CHECK(addresses(Client(server.options()).read(kName, ADF_FAMILY_IPV4)) ==
          std::vector<std::string>{"192.0.2.1"});
}

TEST_CASE("a server that never answers is a transient failure within the timeout") {
    const adf::UniqueFd silent(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    rfc2136::ClientOptions options;
    options.server = *adf::socket_address("127.0.0.1");
    REQUIRE(::bind(silent.get(), options.server.get(), options.server.length) == 0);
    REQUIRE(::getsockname(silent.get(), options.server.get(), &options.server.length) == 0);
    options.zone = "example.test";
    options.timeout = 0.5;
    Client client(options);
    const auto start = std::chrono::steady_clock::now();
    const adf::Error error = failure_of([&] { client.read(kName, ADF_FAMILY_IPV4); });
    const double elapsed =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    CHECK(error.status() == ADF_TRANSIENT);
    CHECK(contains(error.what(), "no answer"));
    CHECK(elapsed >= 0.45);
    CHECK(elapsed < 1.5);
}

TEST_CASE("response codes map to statuses and to messages naming what to check") {
    rfc2136::ClientOptions options;
    options.server = *adf::socket_address("192.0.2.53", 53);
    options.zone = "example.test";
    options.key = rfc2136::TsigKey{"ddns-key", "hmac-sha256", "c2VjcmV0"};
    const Client client(options);
    const auto error = [&](int rcode, uint16_t tsig, Operation op = Operation::kUpdate) {
        return client.answer_error(rcode, tsig, op, kName);
    };
    CHECK(error(LDNS_RCODE_SERVFAIL, 0).status() == ADF_TRANSIENT);
    CHECK(error(LDNS_RCODE_NXRRSET, 0).status() == ADF_CONFLICT);
    CHECK(error(LDNS_RCODE_YXRRSET, 0).status() == ADF_CONFLICT);
    CHECK(contains(error(LDNS_RCODE_NOTZONE, 0).what(), "not in zone example.test"));
    CHECK(contains(error(LDNS_RCODE_NOTIMPL, 0).what(), "dynamic updates"));
    CHECK(contains(error(LDNS_RCODE_REFUSED, 0, Operation::kRead).what(), "allow-query"));
    CHECK(contains(error(LDNS_RCODE_REFUSED, 0).what(), "allow-update"));
    CHECK(contains(error(LDNS_RCODE_NOTAUTH, 0).what(), "not authoritative"));
    const adf::Error badtime = error(LDNS_RCODE_NOTAUTH, 18);
    CHECK(badtime.status() == ADF_FAILED);
    CHECK(contains(badtime.what(), "BADTIME"));
    CHECK(contains(badtime.what(), "clock"));
    CHECK(contains(error(LDNS_RCODE_NOTAUTH, 16).what(), "BADSIG"));
    CHECK(contains(error(LDNS_RCODE_NOTAUTH, 17).what(), "BADKEY"));
    CHECK(contains(error(LDNS_RCODE_NOTAUTH, 22).what(), "BADTRUNC"));
    for (const char *server_part : {"192.0.2.53:53"})
        CHECK(contains(error(LDNS_RCODE_FORMERR, 0).what(), server_part));

    options.key.reset();
    const Client unsigned_client(options);
    CHECK(contains(unsigned_client.answer_error(LDNS_RCODE_NOTAUTH, 0, Operation::kUpdate, kName).what(),
                   "no key is configured"));
}
