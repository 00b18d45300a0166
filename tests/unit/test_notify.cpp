// What notifications say and how repeats are coalesced: pure functions.
#include <doctest/doctest.h>

#include "notify/coalesce.h"
#include "notify/delivery.h"
#include "notify/message.h"
#include "notify/signature.h"

using adf::events::Event;
using adf::events::Kind;
using adf::notify::Notification;

namespace {

Notification removal(double monotonic, const std::string &peer = "192.0.2.7") {
    Event e = adf::events::make(Kind::PeerRemoved, "removed peer " + peer + "; the set was ...");
    e.time = {monotonic, 1764700000 + monotonic};
    e.fqdn = "www.example.test";
    e.family = 4;
    e.peer = peer;
    e.plugin = "route53";
    e.reason = "connection refused";
    e.set_before = std::vector<std::string>{"192.0.2.5", "192.0.2.6", peer};
    e.set_after = std::vector<std::string>{"192.0.2.5", "192.0.2.6"};
    return Notification{e, 0, 0, "web1", {"www.example.test"}};
}

}  // namespace

TEST_CASE("notify: the subject is the original's, the body says what, why, what was done") {
    const Notification n = removal(5);
    CHECK(adf::notify::email_subject(n) == "autodnsfailover@web1 - notification about www.example.test");
    const std::string body = adf::notify::email_body(n);
    for (const char *line : {"removed peer 192.0.2.7", "What:         a dead peer was removed from DNS (peer_removed)",
                             "Name:         www.example.test A", "Address:      192.0.2.7",
                             "Why:          connection refused",
                             "Set before:   192.0.2.5, 192.0.2.6, 192.0.2.7",
                             "Set after:    192.0.2.5, 192.0.2.6", "Host:         web1"})
        CHECK_MESSAGE(body.find(line) != std::string::npos, line, " not in\n", body);
    const std::string mail = adf::notify::email_message(n, "adf@example.test", {"ops@example.test"}, 1764700000);
    CHECK(mail.find("Subject: autodnsfailover@web1 - notification about www.example.test\r\n") != std::string::npos);
    CHECK(mail.find("To: ops@example.test\r\n") != std::string::npos);
    CHECK(mail.find("Date: Tue, 02 Dec 2025") != std::string::npos);
    CHECK(mail.find("\n") == mail.find("\r\n") + 1);  // CRLF line ends
}

TEST_CASE("notify: an event about no name is about the daemon's names") {
    Notification n = removal(1);
    n.event = adf::events::make(Kind::SelfCheckFailed, "self-check of my own address 192.0.2.5 failed");
    n.fqdns = {"www.example.test", "api.example.test"};
    CHECK(adf::notify::email_subject(n) ==
          "autodnsfailover@web1 - notification about www.example.test, api.example.test");
}

TEST_CASE("notify: the webhook payload follows schema v1") {
    const auto payload = adf::notify::webhook_payload(removal(5));
    CHECK(payload["schema"] == "autodnsfailover.event.v1");
    CHECK(payload["event"] == "peer_removed");
    CHECK(payload["level"] == "error");
    CHECK(payload["host"] == "web1");
    CHECK(payload["fqdn"] == "www.example.test");
    CHECK(payload["type"] == "A");
    CHECK(payload["peer"] == "192.0.2.7");
    CHECK(payload["set_before"].size() == 3);
    CHECK(payload["set_after"].size() == 2);
    CHECK(payload["repeats"] == 0);
    CHECK(payload["time"].get<std::string>().size() == 24);
    CHECK(payload["text"].get<std::string>().find("*autodnsfailover@web1* peer_removed") != std::string::npos);
    for (const char *key : {"family", "reason", "message", "action", "refusal", "about", "lasted_seconds"})
        CHECK(payload.contains(key));
}

TEST_CASE("notify: HMAC-SHA256 signature (RFC 4231 test case 2)") {
    CHECK(adf::notify::signature("Jefe", "what do ya want for nothing?") ==
          "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("coalesce: a flapping peer costs one message, then one summary per window") {
    adf::notify::Coalescer c(300);
    CHECK(c.offer(removal(0), 0));
    size_t sent = 1;
    for (int t = 10; t < 3600; t += 10) {
        if (c.offer(removal(t), t)) ++sent;
        for (const auto &summary : c.due(t)) {
            CHECK(summary.repeats > 0);
            CHECK(summary.event.kind == Kind::PeerRemoved);
            ++sent;
        }
    }
    CHECK(sent <= 1 + 3600 / 300);
    CHECK(sent >= 3600 / 300);
    // Another peer is another thing: not held back.
    CHECK(c.offer(removal(3600, "192.0.2.8"), 3600));
}

TEST_CASE("coalesce: a window without repeats closes without a summary") {
    adf::notify::Coalescer c(60);
    CHECK(c.offer(removal(0), 0));
    CHECK(c.next_due() == 60);
    CHECK(c.due(61).empty());
    CHECK(c.next_due() == std::numeric_limits<double>::infinity());
    CHECK(c.offer(removal(62), 62));
    CHECK(!c.offer(removal(70), 70));
    CHECK(!c.offer(removal(80), 80));
    auto due = c.due(122);
    REQUIRE(due.size() == 1);
    CHECK(due[0].repeats == 2);
    const std::string body = adf::notify::email_body(due[0]);
    CHECK(body.find("2 more times since") == 0);
    CHECK(adf::notify::webhook_payload(due[0])["repeats"] == 2);
}

TEST_CASE("notify: target filters by level, by event name, and by the error a summary is about") {
    adf::config::EventFilter filter;
    filter.level = adf::log::Level::Error;
    Event e = adf::events::make(Kind::PeerRemoved, "");
    CHECK(adf::notify::accepts(filter, e));
    e.level = adf::log::Level::Warning;
    CHECK(!adf::notify::accepts(filter, e));
    Event resolved = adf::events::make(Kind::ErrorResolved, "");
    resolved.about = Kind::ReadFailed;
    resolved.about_level = adf::log::Level::Error;
    CHECK(adf::notify::accepts(filter, resolved));  // its error was told: its end is too
    filter.events = {"read_failed"};
    CHECK(adf::notify::accepts(filter, resolved));
    CHECK(!adf::notify::accepts(filter, adf::events::make(Kind::PeerRemoved, "")));
}
