// The event model's pure parts: the catalogue, persistent errors, the
// round's record (summary, heartbeat, run --once's exit code).
#include <doctest/doctest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "events/events.h"
#include "events/persistence.h"
#include "loop/round_record.h"
#include "util/exit_codes.h"

using adf::Stamp;
using adf::events::Event;
using adf::events::Kind;
using adf::events::make;

namespace {

Event at(Event e, double monotonic) {
    e.time = Stamp{monotonic, 1.7e9 + monotonic};
    return e;
}

Event read_failed(double when, const std::string &reason = "timeout") {
    Event e = make(Kind::ReadFailed, "cannot read the A records: transient");
    e.fqdn = "www.example.test";
    e.family = 4;
    e.reason = reason;
    return at(e, when);
}

std::string readme() {
    std::ifstream in(ADF_SOURCE_DIR "/README.md");
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

}  // namespace

TEST_CASE("events: every kind has one unique stable name, and the README lists each") {
    const std::string doc = readme();
    std::set<std::string> names;
    for (const auto &k : adf::events::catalogue()) {
        CHECK(names.insert(k.name).second);
        CHECK(&adf::events::info(k.kind) == &k);
        CHECK(adf::events::kind_named(k.name) == k.kind);
        CHECK_MESSAGE(doc.find(std::string("`") + k.name + "`") != std::string::npos,
                      "README does not document the event ", k.name);
    }
    CHECK(!adf::events::kind_named("no_such_event"));
}

TEST_CASE("persistence: a failure repeated every round is told once, summarised, and ended") {
    adf::events::Persistence p(600);
    auto first = p.failure(read_failed(100));
    REQUIRE(first.size() == 1);
    CHECK(first[0].kind == Kind::ReadFailed);
    for (int round = 1; round < 60; ++round) {
        CHECK(p.failure(read_failed(100 + round * 10)).empty());
        CHECK(p.was_repeat());
    }
    // Ten minutes after the start: one summary, of the same level.
    auto summary = p.failure(read_failed(700, "HTTP 503"));
    REQUIRE(summary.size() == 1);
    CHECK(summary[0].kind == Kind::ErrorOngoing);
    CHECK(summary[0].about == Kind::ReadFailed);
    CHECK(summary[0].level == adf::log::Level::Error);
    CHECK(summary[0].repeats == 61);
    CHECK(summary[0].reason == "HTTP 503");
    CHECK(summary[0].message.find("still so for 10 min 0 s (61 times)") == 0);
    CHECK(p.failure(read_failed(710)).empty());
    // Another set's failure is another error.
    Event other = read_failed(720);
    other.fqdn = "api.example.test";
    CHECK(p.failure(other).size() == 1);
    auto ended = p.resolve(
        [](const adf::events::ErrorKey &k) { return k.fqdn == "www.example.test"; },
        Stamp{730, 0});
    REQUIRE(ended.size() == 1);
    CHECK(ended[0].kind == Kind::ErrorResolved);
    CHECK(ended[0].about == Kind::ReadFailed);
    CHECK(ended[0].about_level == adf::log::Level::Error);
    CHECK(ended[0].repeats == 62);
    CHECK(ended[0].lasted == doctest::Approx(630));
    CHECK(p.active() == 1);
    // It starts anew afterwards.
    CHECK(p.failure(read_failed(740)).size() == 1);
}

TEST_CASE("persistence: events of other kinds pass as they come; a gone peer ends silently") {
    adf::events::Persistence p(600);
    Event removed = at(make(Kind::PeerRemoved, "removed"), 1);
    CHECK(p.failure(removed).size() == 1);
    CHECK(p.failure(removed).size() == 1);
    Event refused = at(make(Kind::RemovalRefused, "refused"), 2);
    refused.fqdn = "www.example.test";
    refused.family = 4;
    refused.peer = "192.0.2.7";
    CHECK(p.failure(refused).size() == 1);
    CHECK(p.failure(refused).empty());
    CHECK(p.resolve([](const adf::events::ErrorKey &) { return true; }, Stamp{3, 3}, false).empty());
    CHECK(p.active() == 0);
}

TEST_CASE("round record: the summary names what changed, the exit code what failed") {
    adf::loop::RoundRecord r;
    r.begin(7);
    CHECK(!r.changed());
    CHECK(r.exit_code() == adf::kExitOk);
    Event removed = make(Kind::PeerRemoved, "removed peer 192.0.2.7");
    removed.fqdn = "www.example.test";
    removed.family = 4;
    removed.peer = "192.0.2.7";
    r.on_event(removed);
    r.add_set("www.example.test", 4, 2);
    r.add_checks(2, 1, 0);
    CHECK(r.changed());
    const Event summary = r.summary(0.5);
    CHECK(summary.kind == Kind::RoundSummary);
    CHECK(summary.message ==
          "round 7 changed DNS: removed 192.0.2.7 from www.example.test A "
          "(www.example.test A: 2 records; 2 checks of peers, 1 dead; 0.50 s)");

    Event conflict = make(Kind::RemovalFailed, "could not remove");
    conflict.status = "conflict";
    r.on_event(conflict);
    CHECK(r.exit_code() == adf::kExitConflict);
    r.on_event(make(Kind::ReadFailed, "cannot read"));
    CHECK(r.exit_code() == adf::kExitTransient);
    r.begin(8);
    CHECK(r.exit_code() == adf::kExitOk);
    CHECK(r.number() == 8);
}

TEST_CASE("heartbeat: one line per interval while nothing changes, none after a change") {
    adf::loop::Heartbeat beat(600);
    adf::loop::RoundRecord quiet;
    quiet.begin(1);
    quiet.add_set("www.example.test", 4, 3);
    CHECK(!beat.after_round(quiet, 0));  // the first round starts the count
    for (int t = 10; t < 600; t += 10) CHECK(!beat.after_round(quiet, t));
    auto line = beat.after_round(quiet, 600);
    REQUIRE(line);
    CHECK(line->kind == Kind::Heartbeat);
    CHECK(line->message.find("alive: 60 rounds in the last 10 min 0 s, no change; "
                             "www.example.test A: 3 records") == 0);
    CHECK(!beat.after_round(quiet, 610));
    adf::loop::RoundRecord busy;
    busy.begin(2);
    Event added = make(Kind::SelfAdded, "added");
    added.family = 4;
    busy.on_event(added);
    CHECK(!beat.after_round(busy, 1000));  // a summary was logged instead
    CHECK(!beat.after_round(quiet, 1599));
    CHECK(beat.after_round(quiet, 1600));
    beat.set_interval(0);
    CHECK(!beat.after_round(quiet, 9999));
}
