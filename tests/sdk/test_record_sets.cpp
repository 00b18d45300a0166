// The re-read-before-write rules (sdk/include/autodnsfailover/record_sets.hpp)
// and adf::json::string_member (json.hpp).
#include <autodnsfailover/json.hpp>
#include <autodnsfailover/record_sets.hpp>
#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

namespace rs = adf::record_sets;

namespace {

std::vector<std::string> g_log;
void remember(adf_host *, int, const char *message) { g_log.emplace_back(message); }

// The status and message of what `body` throws as adf::Error.
template <class Body>
std::pair<int, std::string> error_of(Body &&body) {
    try {
        body();
    } catch (const adf::Error &e) {
        return {e.status(), e.what()};
    }
    return {ADF_OK, ""};
}

const std::vector<adf::Record> kRead = {{"192.0.2.1", "", 60}, {"192.0.2.2", "", 60}};

}  // namespace

TEST_CASE("names compare without case and trailing dot, and must be inside the zone") {
    CHECK(rs::comparable_name("WWW.Example.COM.") == "www.example.com");
    CHECK(rs::name_in_zone("Www.Example.com.", "example.com") == "www.example.com");
    CHECK(rs::name_in_zone("example.com", "example.com") == "example.com");
    const auto outside = error_of([] { rs::name_in_zone("www.badexample.com", "example.com"); });
    CHECK(outside.first == ADF_BAD_CONFIG);
    CHECK(outside.second ==
          "\"www.badexample.com\" is not inside the zone \"example.com\" (key \"zone\")");
}

TEST_CASE("a set that changed since the host read it is a conflict naming both sets") {
    CHECK_NOTHROW(rs::require_unchanged("www.example.com", ADF_FAMILY_IPV4, kRead,
                                        {"192.0.2.2", "192.0.2.1"}));
    const auto changed = error_of([] {
        rs::require_unchanged("www.example.com", ADF_FAMILY_IPV4, kRead, {"192.0.2.1"});
    });
    CHECK(changed.first == ADF_CONFLICT);
    CHECK(changed.second ==
          "the A records of www.example.com changed since they were read: expected "
          "[192.0.2.1, 192.0.2.2], found [192.0.2.1]; nothing was changed");
}

TEST_CASE("should_add and should_remove: nothing to do is logged, the last record stays") {
    adf_host_services services{};
    services.log = remember;
    const adf::Host host(&services, nullptr);
    const std::set<std::string> current = {"192.0.2.1", "192.0.2.2"};
    g_log.clear();
    CHECK(rs::should_add(host, "www.example.com", ADF_FAMILY_IPV4, kRead, current, "192.0.2.3"));
    CHECK_FALSE(rs::should_add(host, "www.example.com", ADF_FAMILY_IPV4, kRead, current,
                               "192.0.2.1"));
    CHECK(rs::should_remove(host, "www.example.com", ADF_FAMILY_IPV4, kRead, current,
                            "192.0.2.1"));
    CHECK_FALSE(rs::should_remove(host, "www.example.com", ADF_FAMILY_IPV4, kRead, current,
                                  "192.0.2.9"));
    CHECK(g_log == std::vector<std::string>{
                       "www.example.com A 192.0.2.1 is already a record: nothing to add",
                       "www.example.com A 192.0.2.9 is not a record: nothing to remove"});

    const std::vector<adf::Record> one = {{"2001:db8::1", "", 60}};
    const auto last = error_of([&] {
        rs::should_remove(host, "www.example.com", ADF_FAMILY_IPV6, one, {"2001:db8::1"},
                          "2001:db8::1");
    });
    CHECK(last.first == ADF_FAILED);
    CHECK(last.second.find("refusing to remove www.example.com AAAA 2001:db8::1") == 0);
    const auto stale = error_of([&] {
        rs::should_add(host, "www.example.com", ADF_FAMILY_IPV6, one, {}, "2001:db8::2");
    });
    CHECK(stale.first == ADF_CONFLICT);
}

TEST_CASE("string_member reads strings only, whatever the document holds") {
    const auto document = nlohmann::json::parse(R"({"id": "a1", "ttl": 60, "comment": null})");
    CHECK(adf::json::string_member(document, "id") == "a1");
    CHECK(adf::json::string_member(document, "ttl", "none") == "none");
    CHECK(adf::json::string_member(document, "comment") == "");
    CHECK(adf::json::string_member(document, "missing", "x") == "x");
    CHECK(adf::json::string_member(nlohmann::json::array({1}), "id", "x") == "x");
}

TEST_CASE("strict reading: record types as DNS spells them, relations to the asked set") {
    CHECK(rs::is_record_type("A"));
    CHECK(rs::is_record_type("AAAA"));
    CHECK(rs::is_record_type("TYPE65280"));
    CHECK_FALSE(rs::is_record_type("a"));
    CHECK_FALSE(rs::is_record_type("Aaaa"));
    CHECK_FALSE(rs::is_record_type(""));
    CHECK_FALSE(rs::is_record_type("A "));
    CHECK_FALSE(rs::is_record_type("1A"));

    CHECK(*rs::relation("WWW.example.com.", "A", "www.example.com", 4) == rs::Relation::kOurs);
    CHECK(*rs::relation("www.example.com", "AAAA", "www.example.com", 6) == rs::Relation::kOurs);
    CHECK(*rs::relation("www.example.com", "AAAA", "www.example.com", 4) ==
          rs::Relation::kOtherType);
    CHECK(*rs::relation("mail.example.com", "A", "www.example.com", 4) ==
          rs::Relation::kOtherName);
    const auto lower = rs::relation("www.example.com", "a", "www.example.com", 4);
    REQUIRE_FALSE(lower);
    CHECK(lower.reason() ==
          "the record type \"a\" is not a DNS record type as DNS spells it (upper case, e.g. \"A\")");
    const auto nameless = rs::relation(".", "A", "www.example.com", 4);
    REQUIRE_FALSE(nameless);
    CHECK(nameless.reason() == "a A record without a name");

    CHECK(rs::foreign("mail.example.com", "A", "www.example.com", 4) ==
          "the answer holds a record of \"mail.example.com\" type \"A\", where only "
          "www.example.com A records belong");
}

TEST_CASE("strict reading: values are addresses of the family, quoted when they are not") {
    CHECK(*rs::address_value(" 192.0.2.1\n", 4) == "192.0.2.1");
    CHECK(*rs::address_value("2001:DB8::0:1", 6) == "2001:db8::1");
    const auto junk = rs::address_value(std::string("127.0.0.1\0junk", 14), 4);
    REQUIRE_FALSE(junk);
    CHECK(junk.reason() == "the value \"127.0.0.1\\x00junk\" of a A record is not an IPv4 address");
    CHECK_FALSE(rs::address_value("2001:db8::1", 4));
    CHECK_FALSE(rs::address_value(std::string(500, 'x'), 4).reason().empty());
    CHECK(rs::address_value(std::string(500, 'x'), 4).reason().size() < 200);  // bounded quote
}
