// One daemon's view of a record set (peer/view.h): what it checks each
// round, and how it answers a question from it.
#include <doctest/doctest.h>

#include <algorithm>

#include "peer/view.h"
#include "peer_test_support.h"

using adf::Address;
using adf::peer::HysteresisSettings;
using adf::peer::Question;
using adf::peer::SetView;
using adf::peer::Verdict;
using peer_test::address;

namespace {

const Address kSelf = address("192.0.2.1");
const Address kPeer = address("192.0.2.2");
const Address kOther = address("192.0.2.3");

bool has(const std::vector<Address> &list, const Address &a) {
    return std::find(list.begin(), list.end(), a) != list.end();
}

Question question_about(const Address &subject, double max_age, double wait = 1.25) {
    return Question{subject, "www.example.com", static_cast<uint32_t>(max_age * 1000),
                    static_cast<uint32_t>(wait * 1000)};
}

}  // namespace

TEST_CASE("view: the listed peers are checked, never this host") {
    SetView view;
    HysteresisSettings s;
    const auto checked = view.to_check({kSelf, kPeer, kOther}, kSelf, 0, s);
    CHECK(checked == std::vector<Address>{kPeer, kOther});
}

TEST_CASE("view: a peer that left the set is still checked for max_suppress, then forgotten") {
    SetView view;
    HysteresisSettings s;
    s.damping.max_suppress = 20;
    view.to_check({kSelf, kPeer}, kSelf, 0, s);
    view.observe(kPeer, true, "", 0, s);
    view.observe(kPeer, false, "connection refused", 1, s);  // one flap: a penalty of 1000
    CHECK(has(view.to_check({kSelf}, kSelf, 10, s), kPeer));
    CHECK(has(view.to_check({kSelf}, kSelf, 20, s), kPeer));
    // Past max_suppress, kept while its penalty lasts (half-life 60 s: ten of them).
    CHECK(has(view.to_check({kSelf}, kSelf, 200, s), kPeer));
    CHECK_FALSE(has(view.to_check({kSelf}, kSelf, 1000, s), kPeer));
    CHECK(view.health(kPeer) == nullptr);
}

TEST_CASE("view: answers a fresh verdict, Unknown for a stale one, NotTracked for a stranger") {
    SetView view;
    HysteresisSettings s;
    view.to_check({kSelf, kPeer}, kSelf, 0, s);
    view.observe(kPeer, false, "connection refused", 10, s);
    const auto dead = view.answer(question_about(kPeer, 2), 11, s, kSelf, 1);
    CHECK(dead.verdict == Verdict::Dead);
    CHECK(dead.reason == "connection refused");
    CHECK(dead.age_ms == 1000);
    CHECK(dead.observer == kSelf);
    // Older than the question allows, and a check would not end in time.
    CHECK(view.answer(question_about(kPeer, 2), 20, s, kSelf, 2).verdict == Verdict::Unknown);
    CHECK(view.answer(question_about(kOther, 2), 11, s, kSelf, 1).verdict ==
          Verdict::NotTracked);
}

TEST_CASE("view: a peer that comes back is recovering until rise good checks in a row") {
    SetView view;
    HysteresisSettings s;  // rise 2
    view.to_check({kSelf, kPeer}, kSelf, 0, s);
    view.observe(kPeer, false, "timeout", 0, s);
    view.observe(kPeer, true, "", 1, s);
    CHECK(view.answer(question_about(kPeer, 5), 1.5, s, kSelf, 1).verdict == Verdict::Recovering);
    view.observe(kPeer, true, "", 2, s);
    CHECK(view.answer(question_about(kPeer, 5), 2.5, s, kSelf, 1).verdict == Verdict::Alive);
}

TEST_CASE("view: a question that wants a fresher verdict asks for a check, if one ends in time") {
    SetView view;
    HysteresisSettings s;
    view.to_check({kSelf, kPeer}, kSelf, 0, s);
    view.observe(kPeer, true, "", 0, s);
    CHECK_FALSE(view.needs_check(question_about(kPeer, 5, 1.25), 1, 1));  // fresh enough
    CHECK(view.needs_check(question_about(kPeer, 0.5, 1.25), 1, 1));      // too old: check now
    CHECK_FALSE(view.needs_check(question_about(kPeer, 0.5, 1.0), 1, 1)); // would end too late
    CHECK_FALSE(view.needs_check(question_about(kOther, 0.5, 1.25), 1, 1));  // not tracked
}
