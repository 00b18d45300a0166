#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "peer/agreement.h"
#include "peer/opinion.h"
#include "peer/roster.h"
#include "peer_test_support.h"

using namespace adf::peer;
using adf::Address;
using peer_test::address;

namespace {

Testimony says(Verdict verdict) { return Testimony{Heard::Answer, verdict, true}; }
Testimony silent(bool passes_my_checks) {
    return Testimony{Heard::Silent, Verdict::Unknown, passes_my_checks};
}
Testimony no_listener() { return Testimony{Heard::NoListener, Verdict::Unknown, false}; }
Testimony unreachable() { return Testimony{Heard::Unreachable, Verdict::Unknown, false}; }

const Testimony kAlive = says(Verdict::Alive);
const Testimony kDead = says(Verdict::Dead);
const Testimony kRecovering = says(Verdict::Recovering);
const Testimony kDamped = says(Verdict::Damped);

const Rule kMajority{0};

}  // namespace

TEST_CASE("agreement: a broken route on one observer removes nobody") {
    // Five hosts: this observer cannot reach X; the three others can.
    const Decision d = decide_removal(kMajority, Verdict::Dead, {kAlive, kAlive, kAlive});
    CHECK(d.outcome == Outcome::Keep);
    CHECK(d.explanation ==
          "1 of 4 observers (this one included) see it out; 3 see it alive: it "
          "stays (check this host's route to it)");
}

TEST_CASE("agreement: a dead peer is removed when a majority of those that answered agree") {
    CHECK(decide_removal(kMajority, Verdict::Dead, {kDead, kDead, kDead}).outcome ==
          Outcome::Remove);
    const Decision d = decide_removal(kMajority, Verdict::Dead, {kDead, kAlive, kDead});
    CHECK(d.outcome == Outcome::Remove);
    CHECK(d.explanation == "3 of 4 observers (this one included) see it out");
    // Those that did not answer do not count: 2 of 3 that gave an opinion.
    CHECK(decide_removal(kMajority, Verdict::Dead, {kDead, kAlive, silent(false), no_listener()})
              .outcome == Outcome::Remove);
    // A tie keeps it.
    CHECK(decide_removal(kMajority, Verdict::Dead, {kAlive}).outcome == Outcome::Keep);
    CHECK(decide_removal(kMajority, Verdict::Dead, {kDead, kAlive, kAlive, silent(true)}).outcome ==
          Outcome::Keep);
    // Damped counts as out: the pool holds a flapping host out together.
    CHECK(decide_removal(kMajority, Verdict::Damped, {kDamped, kDead, kAlive}).outcome ==
          Outcome::Remove);
    // Recovering passes its checks: it counts against a removal.
    CHECK(decide_removal(kMajority, Verdict::Dead, {kRecovering, kDead, kRecovering}).outcome ==
          Outcome::Keep);
}

TEST_CASE("agreement: this observer seeing it alive never removes it") {
    // Recovering too: its checks pass, only not `rise` times in a row yet (a
    // route that just healed must not remove a healthy peer).
    for (Verdict mine :
         {Verdict::Alive, Verdict::Recovering, Verdict::Unknown, Verdict::NotTracked}) {
        const Decision d = decide_removal(kMajority, mine, {kDead, kDead, kDead});
        CHECK(d.outcome == Outcome::Keep);
    }
}

TEST_CASE("agreement: an observer that reaches nobody removes nobody") {
    const Decision d =
        decide_removal(kMajority, Verdict::Dead, {silent(false), unreachable(), silent(false)});
    CHECK(d.outcome == Outcome::Isolated);
    CHECK(d.tally.unreached == 3);
    CHECK(d.explanation ==
          "none of the 3 other observers answered, and none passes this host's "
          "checks: this host is probably cut off, so nobody is removed");
    // Unless every witness passes: then the others are down, and the
    // single-observer rule (with its partition guard) decides.
    const Decision witnessed = decide_removal(kMajority, Verdict::Dead,
                                              {silent(false), unreachable(), silent(false)}, true);
    CHECK(witnessed.outcome == Outcome::FallBack);
    CHECK(witnessed.why == Fallback::WitnessesPassed);
    CHECK(decide_removal(kMajority, Verdict::Dead, {silent(false)}, false).outcome ==
          Outcome::Isolated);
}

TEST_CASE(
    "agreement: a pool of two, or peers without a listener, fall back to the single-observer "
    "rule") {
    const Decision alone = decide_removal(kMajority, Verdict::Dead, {});
    CHECK(alone.outcome == Outcome::FallBack);
    CHECK(alone.why == Fallback::NoOneToAsk);
    CHECK(alone.explanation ==
          "no other observer to ask (a pool of two): the single-observer "
          "rule decides");
    // Nothing listens on their port; they pass this host's checks but stay
    // silent; they answer without an opinion.
    for (const auto &testimonies :
         std::vector<std::vector<Testimony>>{{no_listener(), no_listener()},
                                             {silent(true), silent(false)},
                                             {says(Verdict::Unknown), says(Verdict::NotTracked)}}) {
        const Decision d = decide_removal(kMajority, Verdict::Dead, testimonies);
        CHECK(d.outcome == Outcome::FallBack);
        CHECK(d.why == Fallback::NoVerdicts);
        CHECK(d.explanation.find("none of the 2 other observers gave a verdict") == 0);
    }
}

TEST_CASE("agreement: a fixed number of confirmations") {
    const Rule two{2};
    CHECK(decide_removal(two, Verdict::Dead, {kDead, kDead, kAlive, kAlive, kAlive}).outcome ==
          Outcome::Remove);
    const Decision one_short = decide_removal(two, Verdict::Dead, {kDead, kAlive, silent(true)});
    CHECK(one_short.outcome == Outcome::Keep);
    CHECK(one_short.explanation ==
          "1 of the 2 confirmations needed from other observers (1 see it alive): it stays");
    // A pool smaller than the rule needs every other observer.
    CHECK(decide_removal(Rule{5}, Verdict::Dead, {kDead, kDead}).outcome == Outcome::Remove);
    CHECK(decide_removal(Rule{5}, Verdict::Dead, {kDead, silent(false)}).outcome == Outcome::Keep);
    CHECK(decide_removal(Rule{1}, Verdict::Dead, {kDead, kAlive, kAlive}).outcome ==
          Outcome::Remove);
}

TEST_CASE("self-fencing: a host the majority cannot reach stays out and says why") {
    const SelfDecision d = decide_self({kDead, kDead, kDead, kAlive});
    CHECK(d.outcome == SelfOutcome::StayOut);
    CHECK(d.message ==
          "3 of 4 peers cannot reach me: not re-adding myself; check this host's network");
    const SelfDecision recovering = decide_self({kRecovering, kRecovering, kAlive});
    CHECK(recovering.outcome == SelfOutcome::StayOut);
    CHECK(recovering.message ==
          "2 of 3 peers see me recovering (fewer good checks in a row than "
          "rise): not re-adding myself yet");
    const SelfDecision damped = decide_self({kDamped, kDamped, kAlive});
    CHECK(damped.message ==
          "2 of 3 peers hold me out for flapping (damping): not re-adding "
          "myself until my penalty decays");
    const SelfDecision mixed = decide_self({kRecovering, kDead, kDamped, kAlive, kAlive});
    CHECK(mixed.outcome == SelfOutcome::StayOut);
    CHECK(mixed.message ==
          "3 of 5 peers see me out (1 cannot reach me, 1 see me recovering, 1 "
          "hold me out for flapping): not re-adding myself yet");
}

TEST_CASE("self-fencing: a host its peers see alive re-adds itself; a tie re-adds") {
    const SelfDecision d = decide_self({kAlive, kAlive, kDead, silent(false)});
    CHECK(d.outcome == SelfOutcome::ReAdd);
    CHECK(d.message == "2 of 3 peers see me alive: re-adding myself");
    CHECK(decide_self({kAlive, kDead}).outcome == SelfOutcome::ReAdd);
}

TEST_CASE("self-fencing: a host cut off from every peer stays out, unless witnesses pass") {
    const SelfDecision d = decide_self({silent(false), silent(false), unreachable()});
    CHECK(d.outcome == SelfOutcome::StayOut);
    CHECK(d.message ==
          "none of my 3 peers answered and none passes my checks: this host is "
          "probably cut off from them; not re-adding myself; check this host's "
          "network");
    const SelfDecision witnessed = decide_self({silent(false), silent(false)}, true);
    CHECK(witnessed.outcome == SelfOutcome::FallBack);
    CHECK(witnessed.why == Fallback::WitnessesPassed);
}

TEST_CASE("self-fencing: with nobody to ask or no verdicts, today's rule re-adds") {
    const SelfDecision alone = decide_self({});
    CHECK(alone.outcome == SelfOutcome::FallBack);
    CHECK(alone.why == Fallback::NoOneToAsk);
    CHECK(alone.message.find("re-adding myself: ") == 0);
    // The peers pass my checks but none answers (they do not know me, or
    // run no listener): not cut off, so no reason to stay out.
    const SelfDecision unknown = decide_self({silent(true), no_listener()});
    CHECK(unknown.outcome == SelfOutcome::FallBack);
    CHECK(unknown.why == Fallback::NoVerdicts);
}

TEST_CASE("agreement: who is asked: everyone else, or a random sample of a large pool") {
    std::mt19937_64 random(7);
    std::vector<Address> set;
    for (int i = 1; i <= 5; ++i) set.push_back(address(("192.0.2." + std::to_string(i)).c_str()));
    const auto five = observers_to_ask(set, set[2], set[0], 8, random);
    CHECK(five == std::vector<Address>{set[1], set[3], set[4]});
    std::vector<Address> large;
    for (int i = 1; i <= 200; ++i)
        large.push_back(
            address(("10.0." + std::to_string(i / 100) + "." + std::to_string(i % 100)).c_str()));
    std::set<Address> asked_ever;
    for (int round = 0; round < 50; ++round) {
        const auto chosen = observers_to_ask(large, large[10], large[0], 8, random);
        CHECK(chosen.size() == 8);
        CHECK(std::set<Address>(chosen.begin(), chosen.end()).size() == 8);
        for (const Address &a : chosen) {
            CHECK(a != large[10]);
            CHECK(a != large[0]);
            asked_ever.insert(a);
        }
    }
    CHECK(asked_ever.size() > 100);  // spread over the pool, not always the same few
}

TEST_CASE("opinion: a fresh verdict is answered at once, a stale one checked first") {
    HysteresisSettings settings;
    PeerHealth health;
    Question q{address("192.0.2.9"), "www.example.com", 2000, 3000};
    CHECK(answer_source(nullptr, q, 100, 1.0) == AnswerSource::CheckNow);
    CHECK(answer_source(&health, q, 100, 1.0) == AnswerSource::CheckNow);  // never checked
    health.observe(true, 99, settings);
    CHECK(answer_source(&health, q, 100, 1.0) == AnswerSource::Stored);
    CHECK(answer_source(&health, q, 101, 1.0) == AnswerSource::Stored);  // exactly 2000 ms
    CHECK(answer_source(&health, q, 101.5, 1.0) == AnswerSource::CheckNow);
    // A check of 3 s cannot end before an asker who waits 3 s gives up.
    CHECK(answer_source(&health, q, 101.5, 3.0) == AnswerSource::CannotSay);
}

TEST_CASE("opinion: answers carry the filtered verdict, its age and why") {
    HysteresisSettings settings;
    PeerHealth health;
    const Address me = address("192.0.2.1");
    health.observe(true, 10, settings);
    Answer a = answer_from(health, 10.25, settings, me, "");
    CHECK(a.verdict == Verdict::Alive);
    CHECK(a.age_ms == 250);
    CHECK(a.observer == me);
    CHECK(a.reason == "passes its checks");
    health.observe(false, 11, settings);
    a = answer_from(health, 11, settings, me, "connect to 192.0.2.9:80: Connection refused");
    CHECK(a.verdict == Verdict::Dead);
    CHECK(a.reason == "connect to 192.0.2.9:80: Connection refused");
    health.observe(true, 12, settings);
    a = answer_from(health, 12, settings, me, "");
    CHECK(a.verdict == Verdict::Recovering);
    CHECK(a.reason == "recovering: 1 of 2 good checks in a row");
    const Answer none = no_verdict(Verdict::NotTracked, me, "not in my set for this name");
    CHECK(none.verdict == Verdict::NotTracked);
    CHECK(none.age_ms == 0);
}

TEST_CASE("roster: members are remembered a day after last seen, within a bounded size") {
    Roster roster(100, 3);
    const Address a = address("192.0.2.1");
    const Address b = address("192.0.2.2");
    const Address c = address("192.0.2.3");
    const Address d = address("192.0.2.4");
    roster.saw({a, b}, 0);
    CHECK(roster.contains(a, 50));
    CHECK_FALSE(roster.contains(c, 50));
    roster.saw({c}, 60);
    CHECK(roster.contains(a, 100));
    CHECK_FALSE(roster.contains(a, 101));  // a day (here 100 s) after it was last seen
    roster.saw({a}, 70);
    roster.saw({d}, 80);  // over capacity: b, the least recently seen, goes
    CHECK(roster.size() == 3);
    CHECK_FALSE(roster.contains(b, 80));
    CHECK(roster.contains(a, 80));
    CHECK(roster.contains(c, 80));
    CHECK(roster.contains(d, 80));
    roster.saw({}, 500);
    CHECK(roster.size() == 0);
}
