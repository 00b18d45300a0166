// powerdns::rrset_of_zone: the RRset of one name and type in a zone document
// of the PowerDNS API, or the reason the answer is refused.
#include <doctest/doctest.h>

#include <string>

#include "powerdns_answer.hpp"

namespace {

const std::string kOther =
    R"({"name": "mail.example.test.", "type": "A", "ttl": 60, "records": [], "comments": []})";

// A zone document whose rrsets are `rrsets` (JSON text of the list's items).
std::string zone(const std::string &rrsets) {
    return R"({"name": "example.test.", "kind": "Native", "rrsets": [)" + rrsets + "]}";
}

std::string refusal(const std::string &body) {
    const auto rrset = powerdns::rrset_of_zone(body, "www.example.test", 4);
    REQUIRE_FALSE(rrset);
    return rrset.reason();
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("powerdns: our RRset with TTL, disabled records and comments; others left out") {
    const auto rrset = powerdns::rrset_of_zone(
        zone(kOther + R"(, {"name": "WWW.example.test.", "type": "A", "ttl": 120,
              "records": [{"content": "192.0.2.2", "disabled": false},
                          {"content": "192.0.2.1", "disabled": true}],
              "comments": [{"content": "ops", "account": "ops", "modified_at": 5},
                           {"content": "web-1", "account": "autodnsfailover", "modified_at": 3}]},
             {"name": "www.example.test.", "type": "AAAA", "ttl": 60, "records": [], "comments": []})"),
        "www.example.test", 4);
    REQUIRE(rrset);
    CHECK(rrset->exists);
    CHECK(rrset->ttl == 120);
    REQUIRE(rrset->entries.size() == 2);
    CHECK(rrset->entries[1].disabled);
    CHECK(rrset->served() == std::set<std::string>{"192.0.2.2"});
    CHECK(rrset->note() == "web-1");
    CHECK(powerdns::comments_json(rrset->comments).dump() ==
          R"([{"account":"ops","content":"ops","modified_at":5},)"
          R"({"account":"autodnsfailover","content":"web-1","modified_at":3}])");
}

TEST_CASE("powerdns: a zone without our RRset reads as an empty set") {
    const auto rrset = powerdns::rrset_of_zone(zone(kOther), "www.example.test", 4);
    REQUIRE(rrset);
    CHECK_FALSE(rrset->exists);
    CHECK(rrset->entries.empty());
}

TEST_CASE("powerdns: every malformed answer is refused, naming the fault") {
    const std::string ours = R"("name": "www.example.test.", "type": "A", "ttl": 60, )";
    struct Case {
        std::string body;
        std::string named;
    };
    const Case cases[] = {
        {zone("{" + ours + R"("records": null, "comments": []})"), "\"records\" is null, not a list"},
        {zone("{" + ours + R"("comments": []})"), "\"records\" is missing"},
        {zone(R"({"type": "A", "ttl": 60, "records": [], "comments": []})"), "\"name\" is missing"},
        {zone(R"({"name": null, "type": "A", "ttl": 60, "records": []})"), "\"name\" is null"},
        {zone(R"({"name": "www.example.test.", "type": "a", "records": []})"),
         "the record type \"a\" is not a DNS record type"},
        {zone(R"({"name": "www.example.test.", "type": null, "records": []})"), "\"type\" is null"},
        {zone(R"({"name": "www.example.test.", "records": []})"), "\"type\" is missing"},
        {zone(kOther + ", 5"), "rrsets[1]: not an RRset object"},
        {zone("[" + kOther + "]"), "rrsets[0]: not an RRset object"},
        {zone(R"({"name": "mail.example.test.", "type": "A", "records": {}})"),
         "\"records\" is {}, not a list"},
        {zone("{" + ours + R"("records": [["192.0.2.1"]], "comments": []})"),
         "records[0] is [\"192.0.2.1\"], not an object"},
        {zone("{" + ours + R"("records": [{"content": "192.0.2.1"}], "comments": []})"),
         "records[0]: \"disabled\" is missing"},
        {zone("{" + ours + R"("records": [{"content": "web-1", "disabled": false}], "comments": []})"),
         "the value \"web-1\" of a A record is not an IPv4 address"},
        {zone(R"({"name": "www.example.test.", "type": "A", "records": [], "comments": []})"),
         "\"ttl\" is missing"},
        {zone("{" + ours + R"("records": []})"), "\"comments\" is missing"},
        {zone("{" + ours + R"("records": [], "comments": [{"content": 5, "account": ""}]})"),
         "comments[0]: \"content\" is 5, not a string"},
        {zone("{" + ours + R"("records": [], "comments": []}, {)" + ours +
              R"("records": [], "comments": []})"),
         "rrsets[1]: a second RRset of the same name and type"},
        {R"({"name": "example.test."})", "not a zone with an \"rrsets\" list"},
        {R"({"rrsets": {}})", "not a zone with an \"rrsets\" list"},
        {"<html>502 Bad Gateway</html>", "the answer is not JSON: 1:1: JSON syntax error"},
        {std::string(100000, '[') + std::string(100000, ']'), "JSON nested deeper than 64 levels"},
    };
    for (const Case &c : cases) {
        INFO(c.body.substr(0, 200));
        const std::string reason = refusal(c.body);
        CHECK_MESSAGE(contains(reason, c.named), reason);
        CHECK(reason.size() < 600);  // quotes are cut
    }
}
