// The state store: verdicts on both clocks, events applied, the JSON and
// text status, and issue 11's "verdict no older than T".
#include <doctest/doctest.h>

#include "state/store.h"

using adf::Stamp;
using adf::events::Kind;
using adf::state::Verdict;

TEST_CASE("store: a verdict keeps since when it holds, and what the daemon did about it") {
    adf::state::Store store;
    store.set_records("www.example.test", 4, "192.0.2.5", {"192.0.2.5", "192.0.2.6", "192.0.2.7"},
                      Stamp{10, 1000});
    store.set_verdict("www.example.test", 4, "192.0.2.7", Verdict::Alive, "", Stamp{10, 1000});
    store.set_verdict("www.example.test", 4, "192.0.2.7", Verdict::Dead, "refused", Stamp{20, 1010});
    store.set_verdict("www.example.test", 4, "192.0.2.7", Verdict::Dead, "refused", Stamp{30, 1020});
    auto e = adf::events::make(Kind::RemovalRefused, "refused");
    e.fqdn = "www.example.test";
    e.family = 4;
    e.peer = "192.0.2.7";
    e.refusal = adf::events::Refusal::MinRecords;
    e.reason = "that would leave fewer than safety.min_records (3) records";
    e.time = Stamp{30, 1020};
    store.on_event(e);
    const auto s = store.snapshot();
    REQUIRE(s.sets.size() == 1);
    const auto &peer = s.sets[0].peers.at("192.0.2.7");
    CHECK(peer.verdict == Verdict::Dead);
    CHECK(peer.since.monotonic == 20);
    CHECK(peer.checked.monotonic == 30);
    CHECK(peer.action.find("removal refused (min_records)") == 0);

    const auto json = adf::state::to_json(s, Stamp{35, 1025});
    CHECK(json["schema"] == "autodnsfailover.status.v1");
    const auto &p = json["sets"][0]["peers"][0];
    CHECK(p["address"] == "192.0.2.7");
    CHECK(p["verdict"] == "dead");
    CHECK(p["since"]["age_seconds"] == 15);
    const std::string text = adf::state::render_text(json);
    CHECK(text.find("www.example.test A: 3 records") != std::string::npos);
    CHECK(text.find("192.0.2.5 (me)") != std::string::npos);
    CHECK(text.find("dead") != std::string::npos);
    CHECK(text.find("removal refused (min_records)") != std::string::npos);

    // The peer is removed: gone from the set and from the peers.
    auto removed = adf::events::make(Kind::PeerRemoved, "removed");
    removed.fqdn = "www.example.test";
    removed.family = 4;
    removed.peer = "192.0.2.7";
    removed.set_after = std::vector<std::string>{"192.0.2.5", "192.0.2.6"};
    store.on_event(removed);
    CHECK(store.snapshot().sets[0].records.size() == 2);
    CHECK(store.snapshot().sets[0].peers.count("192.0.2.7") == 0);
}

TEST_CASE("store: read failures and backend health, and their end") {
    adf::state::Store store;
    auto failed = adf::events::make(Kind::ReadFailed, "cannot read");
    failed.fqdn = "www.example.test";
    failed.family = 6;
    failed.reason = "HTTP 503";
    failed.time = Stamp{5, 500};
    store.on_event(failed);
    failed.time = Stamp{6, 501};
    store.on_event(failed);
    store.backend_result("route53", "read", false, "HTTP 503", Stamp{6, 501});
    auto s = store.snapshot();
    CHECK(s.sets[0].read_failures == 2);
    CHECK(s.sets[0].read_failing_since.monotonic == 5);
    CHECK(!s.backends.at("route53").ok);
    CHECK(adf::state::one_line(s, Stamp{7, 502}).find("read failing") != std::string::npos);
    const std::string text = adf::state::render_text(adf::state::to_json(s, Stamp{7, 502}));
    CHECK(text.find("READ FAILING") != std::string::npos);
    CHECK(text.find("backend route53: FAILING") != std::string::npos);
    store.set_records("www.example.test", 6, "2001:db8::1", {"2001:db8::1"}, Stamp{8, 503});
    store.backend_result("route53", "read", true, "", Stamp{8, 503});
    s = store.snapshot();
    CHECK(s.sets[0].read_error.empty());
    CHECK(s.backends.at("route53").ok);
}

