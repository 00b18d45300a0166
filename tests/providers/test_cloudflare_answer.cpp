// cloudflare::page_of_answer: one page of a filtered DNS record listing.
#include <doctest/doctest.h>

#include <string>

#include "cloudflare_answer.hpp"

namespace {

std::string envelope(const std::string &result, const std::string &info = R"({"page": 1, "total_pages": 1})") {
    return R"({"success": true, "errors": [], "messages": [], "result": )" + result +
           R"(, "result_info": )" + info + "}";
}

std::string record(const std::string &fields) {
    return R"({"id": "372e67954025e0ba6aaa6d586b9e0b59", "content": "192.0.2.1", "ttl": 60, )" +
           fields + "}";
}

const std::string kOurs = R"("type": "A", "name": "www.example.test")";

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("cloudflare: the records of the page and the page count") {
    const auto page = cloudflare::page_of_answer(
        envelope("[" + record(kOurs + R"(, "comment": "web-1")") + ", " +
                     R"({"id": "b", "type": "A", "name": "WWW.example.test", "content": "192.0.2.2",)"
                     R"( "ttl": 1, "comment": null}])",
                 R"({"page": 1, "total_pages": 3})"),
        "www.example.test", 4);
    REQUIRE(page);
    REQUIRE(page->entries.size() == 2);
    CHECK(page->entries[0].comment == "web-1");
    CHECK(page->entries[1].ttl == 1);
    CHECK(page->entries[1].comment.empty());
    CHECK(page->total_pages == 3);
}

TEST_CASE("cloudflare: every malformed page is refused, naming the fault") {
    struct Case {
        std::string body;
        std::string named;
    };
    const Case cases[] = {
        {envelope("[" + record(R"("name": "www.example.test")") + "]"), "\"type\" is missing"},
        {envelope("[" + record(R"("type": null, "name": "www.example.test")") + "]"),
         "\"type\" is null, not a string"},
        {envelope("[" + record(R"("type": "A")") + "]"), "\"name\" is missing"},
        {envelope("[" + record(R"("type": "A", "name": null)") + "]"), "\"name\" is null"},
        {envelope("[[" + record(kOurs) + "]]"), "result[0]: not a record object"},
        {envelope("[" + record(R"("type": "a", "name": "www.example.test")") + "]"),
         "the record type \"a\" is not a DNS record type"},
        {envelope("[" + record(R"("type": "A", "name": "mail.example.test")") + "]"),
         "a record of \"mail.example.test\" type \"A\", where only www.example.test A records belong"},
        {envelope("[" + record(R"("type": "AAAA", "name": "www.example.test")") + "]"),
         "type \"AAAA\", where only www.example.test A records belong"},
        {envelope(R"([{"id": "a", "type": "A", "name": "www.example.test", "ttl": 60}])"),
         "\"content\" is missing"},
        {envelope(R"([{"id": "a", "type": "A", "name": "www.example.test", "content": "x", "ttl": 60}])"),
         "the value \"x\" of a A record is not an IPv4 address"},
        {envelope(R"([{"id": "a", "type": "A", "name": "www.example.test", "content": "192.0.2.1"}])"),
         "\"ttl\" is missing"},
        {envelope(R"([{"id": "", "type": "A", "name": "www.example.test", "content": "192.0.2.1", "ttl": 1}])"),
         "\"id\" is empty"},
        {envelope("[" + record(kOurs + R"(, "comment": 5)") + "]"), "\"comment\" is 5, not a string"},
        {envelope("[]", "null"), "no \"result_info\" object"},
        {envelope("[]", R"({"total_pages": 1e9})"), "result_info.total_pages is 1000000000.0"},
        {envelope("[]", R"({"page": 1})"), "result_info.total_pages is missing"},
        {R"({"success": true, "result": {}})", "the answer has no \"result\" list"},
        {"not json", "the answer is not JSON"},
    };
    for (const Case &c : cases) {
        INFO(c.body);
        const auto page = cloudflare::page_of_answer(c.body, "www.example.test", 4);
        REQUIRE_FALSE(page);
        CHECK_MESSAGE(contains(page.reason(), c.named), page.reason());
    }
}
