// route53::record_set_of_answer and hosted_zones: Route 53's XML, read
// strictly (start-from listings: a set of another name or type is "none").
#include <doctest/doctest.h>

#include <string>

#include "route53_xml.hpp"

namespace {

std::string listing(const std::string &sets) {
    return R"(<?xml version="1.0"?><ListResourceRecordSetsResponse xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ResourceRecordSets>)" +
           sets + "</ResourceRecordSets><IsTruncated>true</IsTruncated><MaxItems>1</MaxItems>"
                  "</ListResourceRecordSetsResponse>";
}

std::string set(const std::string &inner) { return "<ResourceRecordSet>" + inner + "</ResourceRecordSet>"; }

std::string values(std::initializer_list<const char *> list) {
    std::string out = "<ResourceRecords>";
    for (const char *v : list) out += std::string("<ResourceRecord><Value>") + v + "</Value></ResourceRecord>";
    return out + "</ResourceRecords>";
}

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("route53: our set with its TTL and values as Route 53 spells them") {
    const auto read = route53::record_set_of_answer(
        listing(set("<Name>\\052.WWW.example.test.</Name><Type>AAAA</Type><TTL>90</TTL>" +
                    values({"2001:DB8::1", "2001:db8::2"}))),
        "*.www.example.test", 6);
    REQUIRE(read);
    REQUIRE(*read);
    CHECK((*read)->ttl == 90);
    CHECK((*read)->values == std::vector<std::string>{"2001:DB8::1", "2001:db8::2"});
}

TEST_CASE("route53: start-from listings give the next set, which means none of ours") {
    for (const std::string &next :
         {set("<Name>www2.example.test.</Name><Type>A</Type><TTL>60</TTL>" + values({"192.0.2.5"})),
          set("<Name>www.example.test.</Name><Type>TXT</Type><TTL>60</TTL>" + values({"\"x\""})),
          std::string()}) {
        const auto read = route53::record_set_of_answer(listing(next), "www.example.test", 4);
        REQUIRE(read);
        CHECK_FALSE(*read);
    }
}

TEST_CASE("route53: every malformed listing is refused, naming the fault") {
    const std::string name = "<Name>www.example.test.</Name>";
    const std::string ttl = "<TTL>60</TTL>";
    struct Case {
        std::string body;
        std::string named;
    };
    const Case cases[] = {
        {listing(set("<Type>A</Type>" + ttl + values({"192.0.2.1"}))), "record set 1 has no <Name>"},
        {listing(set(name + ttl + values({"192.0.2.1"}))), "record set 1 has no <Type>"},
        {listing(set(name + "<Type>A</Type>" + ttl)), "record set 1 has no <ResourceRecords>"},
        {listing(set(name + "<Type>a</Type>" + ttl + values({"192.0.2.1"}))),
         "the record type \"a\" is not a DNS record type"},
        {listing(set(name + "<Type>A</Type>" + values({"192.0.2.1"}))), "record set 1 has no <TTL>"},
        {listing(set(name + "<Type>A</Type><TTL>-1</TTL>" + values({"192.0.2.1"}))),
         "has the TTL \"-1\", not a number of seconds"},
        {listing(set(name + "<Type>A</Type>" + ttl + values({"web-1"}))),
         "the value \"web-1\" of a A record is not an IPv4 address"},
        {listing(set(name + "<Type>A</Type>" + ttl + "<ResourceRecords></ResourceRecords>")),
         "has no values in its <ResourceRecords>"},
        {listing(set(name + "<Type>A</Type>" + ttl +
                     "<ResourceRecords><ResourceRecord></ResourceRecord></ResourceRecords>")),
         "record set 1's record has no <Value>"},
        {listing(set(name + "<Type>A</Type>" + ttl +
                     "<ResourceRecords><ResourceRecords>" + values({"192.0.2.1"}).substr(17) +
                     "</ResourceRecords>")),
         "holds a <ResourceRecords> element where only <ResourceRecord> belongs"},
        {listing("<ResourceRecordSets>" + set(name + "<Type>A</Type>" + ttl + values({"192.0.2.1"})) +
                 "</ResourceRecordSets>"),
         "holds a <ResourceRecordSets> element where only <ResourceRecordSet> belongs"},
        {listing(set(name + "<Type>A</Type>" + ttl + values({"192.0.2.1"})) +
                 set(name + "<Type>A</Type>" + ttl + values({"192.0.2.2"}))),
         "record set 2: a second set of www.example.test. A"},
        {listing(set(name + "<Type>A</Type><AliasTarget><DNSName>x</DNSName></AliasTarget>")),
         "is an alias record"},
        {listing(set(name + "<Type>A</Type><SetIdentifier>eu</SetIdentifier>" + ttl +
                     values({"192.0.2.1"}))),
         "has a routing policy (SetIdentifier \"eu\")"},
        {"<ListResourceRecordSetsResponse/>", "no <ResourceRecordSets> element"},
        {"<ErrorResponse/>", "expected a document with a <ListResourceRecordSetsResponse> root element"},
        {"<ListResourceRecordSetsResponse>", "not well-formed XML"},
    };
    for (const Case &c : cases) {
        INFO(c.body);
        const auto read = route53::record_set_of_answer(c.body, "www.example.test", 4);
        REQUIRE_FALSE(read);
        CHECK_MESSAGE(contains(read.reason(), c.named), read.reason());
    }
}

TEST_CASE("route53: hosted zone ids have their form, in the config and in listings") {
    CHECK(route53::is_zone_id("Z0123456789ABCDEFGHIJ"));
    CHECK(route53::is_zone_id(route53::bare_zone_id("/hostedzone/Z1")));
    CHECK_FALSE(route53::is_zone_id(""));
    CHECK_FALSE(route53::is_zone_id("z123"));
    CHECK_FALSE(route53::is_zone_id("Z12 3"));
    CHECK_FALSE(route53::is_zone_id("../Z1"));
    CHECK_FALSE(route53::is_zone_id(std::string(33, 'Z')));
    const std::string zones =
        "<ListHostedZonesByNameResponse><HostedZones><HostedZone><Id>/hostedzone/Z1</Id>"
        "<Name>example.test.</Name></HostedZone><HostedZone><Id>/hostedzone/../x</Id>"
        "<Name>other.test.</Name></HostedZone></HostedZones></ListHostedZonesByNameResponse>";
    const auto listed = route53::hosted_zones(zones);
    REQUIRE_FALSE(listed);
    CHECK(contains(listed.reason(), "the hosted zone \"other.test.\" has the id \"/hostedzone/../x\""));
}
