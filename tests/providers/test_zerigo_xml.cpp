// zerigo::hosts_of_answer and zone_of_answer: Zerigo's XML, read strictly.
#include <doctest/doctest.h>

#include <string>

#include "zerigo_xml.hpp"

namespace {

std::string host(const std::string &inner) { return "<host>" + inner + "</host>"; }

std::string hosts(const std::string &inner) {
    return R"(<?xml version="1.0" encoding="UTF-8"?><hosts type="array">)" + inner + "</hosts>";
}

const std::string kWww = R"(<id type="integer">7</id><hostname>www</hostname>)";

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("zerigo: the hosts of the name and family; other types at the name left out") {
    const auto read = zerigo::hosts_of_answer(
        hosts(host(kWww + R"(<host-type>A</host-type><data>192.0.2.1</data>)"
                          R"(<ttl type="integer">300</ttl><notes>web-1</notes>)") +
              host(R"(<id type="integer">8</id><hostname>WWW</hostname><host-type>A</host-type>)"
                   R"(<data>192.0.2.2</data><ttl type="integer" nil="true"></ttl>)"
                   R"(<notes nil="true"></notes>)") +
              host(R"(<id type="integer">9</id><hostname>www</hostname><host-type>MX</host-type>)"
                   R"(<data>mail.example.test</data><ttl type="integer">60</ttl>)") +
              "<!-- a comment -->"),
        "www.example.test", "example.test", 4);
    REQUIRE(read);
    REQUIRE(read->size() == 2);
    CHECK((*read)[0].id == 7);
    CHECK((*read)[0].address == "192.0.2.1");
    CHECK(*(*read)[0].ttl == 300);
    CHECK((*read)[0].notes == "web-1");
    CHECK_FALSE((*read)[1].ttl);  // the zone's default applies
    CHECK((*read)[1].notes.empty());
    const auto empty = zerigo::hosts_of_answer(hosts(""), "www.example.test", "example.test", 4);
    REQUIRE(empty);
    CHECK(empty->empty());
}

TEST_CASE("zerigo: every malformed hosts answer is refused, naming the fault") {
    const std::string a = "<host-type>A</host-type>";
    const std::string data = R"(<data>192.0.2.1</data><ttl type="integer">60</ttl>)";
    struct Case {
        std::string body;
        std::string named;
    };
    const Case cases[] = {
        {hosts(host(kWww + data)), "host 7: <host-type> is missing"},
        {hosts(host(kWww + R"(<host-type nil="true"></host-type>)" + data)),
         "host 7: <host-type> is nil"},
        {hosts(host(R"(<id type="integer">7</id>)" + a + data)), "host 7: <hostname> is missing"},
        {hosts(host(kWww + "<host-type>a</host-type>" + data)),
         "host 7: the record type \"a\" is not a DNS record type"},
        {hosts("<hosts>" + host(kWww + a + data) + "</hosts>"),
         "<hosts> holds a <hosts> element where only <host> elements belong"},
        {hosts("<group>" + host(kWww + a + data) + "</group>"), "holds a <group> element"},
        {hosts("some text"), "<hosts> holds the text \"some text\""},
        {hosts(host(R"(<id type="integer">7</id><hostname>mail</hostname>)" + a + data)),
         "host 7: the answer holds a record of \"mail.example.test\" type \"A\", where only "
         "www.example.test A records belong"},
        {hosts(host(R"(<id type="integer">7</id><hostname nil="true"></hostname>)" + a + data)),
         "a record of \"example.test\" type \"A\""},
        {hosts(host(kWww + a + R"(<ttl type="integer">60</ttl>)")), "host 7: <data> is missing"},
        {hosts(host(kWww + a + R"(<data>www.example.net</data><ttl>60</ttl>)")),
         "the value \"www.example.net\" of a A record is not an IPv4 address"},
        {hosts(host(kWww + a + R"(<data>192.0.2.1</data>)")), "host 7: <ttl> is missing"},
        {hosts(host(kWww + a + R"(<data>192.0.2.1</data><ttl>soon</ttl>)")),
         "host 7: <ttl> is \"soon\", not a TTL"},
        {hosts(host(R"(<hostname>www</hostname>)" + a + data)), "<id> is missing"},
        {hosts(host(R"(<id>+7</id><hostname>www</hostname>)" + a + data)), "<id> is \"+7\""},
        {"<zone><id>1</id></zone>", "expected a document with a <hosts> root element"},
        {"<hosts><host>", "not well-formed XML"},
        {std::string(20000, '<') , "not well-formed XML"},
    };
    for (const Case &c : cases) {
        INFO(c.body.substr(0, 200));
        const auto read = zerigo::hosts_of_answer(c.body, "www.example.test", "example.test", 4);
        REQUIRE_FALSE(read);
        CHECK_MESSAGE(contains(read.reason(), c.named), read.reason());
    }
}

TEST_CASE("zerigo: a zone's id and default TTL") {
    const auto zone = zerigo::zone_of_answer(
        R"(<zone><id type="integer">1001</id><default-ttl type="integer">900</default-ttl></zone>)");
    REQUIRE(zone);
    CHECK(zone->id == 1001);
    CHECK(*zone->default_ttl == 900);
    CHECK(contains(zerigo::zone_of_answer("<zone></zone>").reason(), "the zone's <id> is missing"));
    CHECK(contains(zerigo::zone_of_answer("<zone><id>x</id></zone>").reason(), "<id> is \"x\""));
    CHECK(contains(zerigo::zone_of_answer("<hosts/>").reason(), "a <zone> root element"));
}
