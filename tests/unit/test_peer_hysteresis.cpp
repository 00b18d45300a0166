#include <doctest/doctest.h>

#include <cmath>
#include <string>
#include <vector>

#include "peer/hysteresis.h"

using adf::peer::Damping;
using adf::peer::HysteresisSettings;
using adf::peer::PeerHealth;
using adf::peer::Verdict;
using Change = PeerHealth::Change;

namespace {

bool contains(const std::string &text, const std::string &part) {
    return text.find(part) != std::string::npos;
}

HysteresisSettings without_damping() {
    HysteresisSettings s;
    s.damping.enabled = false;
    return s;
}

}  // namespace

TEST_CASE("hysteresis: an address is in until a check fails, and unknown before any check") {
    PeerHealth h;
    CHECK(h.in());
    CHECK(h.verdict(0, {}) == Verdict::Unknown);
    CHECK(h.explain(0, {}) == "not checked yet");
    CHECK(h.observe(true, 1, {}) == Change::None);
    CHECK(h.verdict(1, {}) == Verdict::Alive);
    CHECK(h.explain(1, {}) == "passes its checks");
    CHECK(*h.observed_at() == 1);
}

TEST_CASE("hysteresis: with the defaults a failover is not slowed: out on the first failed round") {
    PeerHealth h;
    const HysteresisSettings defaults;
    CHECK(defaults.fall == 1);
    CHECK(defaults.rise == 2);
    h.observe(true, 0, defaults);
    CHECK(h.observe(false, 1, defaults) == Change::WentOut);
    CHECK(h.verdict(1, defaults.damping) == Verdict::Dead);
    CHECK(h.explain(1, defaults) == "fails its checks");
    // One flap: far from damped.
    CHECK(h.flaps() == 1);
    CHECK(h.penalty(1, defaults.damping) == doctest::Approx(1000));
    CHECK_FALSE(h.suppressed(1, defaults.damping));
}

TEST_CASE("hysteresis: fall counts failures in a row, rise passes in a row") {
    HysteresisSettings s = without_damping();
    s.fall = 3;
    s.rise = 2;
    PeerHealth h;
    double t = 0;
    h.observe(true, t++, s);
    CHECK(h.observe(false, t++, s) == Change::None);
    CHECK(h.explain(t, s) == "failed 1 of 3 checks in a row");
    CHECK(h.verdict(t, s.damping) == Verdict::Alive);
    CHECK(h.observe(false, t++, s) == Change::None);
    CHECK(h.observe(true, t++, s) == Change::None);  // a pass resets the count
    CHECK(h.observe(false, t++, s) == Change::None);
    CHECK(h.observe(false, t++, s) == Change::None);
    CHECK(h.observe(false, t++, s) == Change::WentOut);
    CHECK(h.observe(true, t++, s) == Change::None);
    CHECK(h.verdict(t, s.damping) == Verdict::Recovering);
    CHECK(h.explain(t, s) == "recovering: 1 of 2 good checks in a row");
    CHECK(h.observe(false, t++, s) == Change::None);  // back to zero
    CHECK(h.verdict(t, s.damping) == Verdict::Dead);
    CHECK(h.observe(true, t++, s) == Change::None);
    CHECK(h.observe(true, t++, s) == Change::CameIn);
    CHECK(h.verdict(t, s.damping) == Verdict::Alive);
}

TEST_CASE("hysteresis: rise and fall of 0 behave as 1") {
    HysteresisSettings s = without_damping();
    s.rise = 0;
    s.fall = 0;
    PeerHealth h;
    CHECK(h.observe(false, 0, s) == Change::WentOut);
    CHECK(h.observe(true, 1, s) == Change::CameIn);
}

TEST_CASE("hysteresis: the penalty halves every half-life") {
    const Damping d;
    PeerHealth h;
    h.observe(true, 0, {});
    h.observe(false, 10, {});
    CHECK(h.penalty(10, d) == doctest::Approx(1000));
    CHECK(h.penalty(70, d) == doctest::Approx(500));
    CHECK(h.penalty(130, d) == doctest::Approx(250));
    CHECK(h.penalty(5, d) == doctest::Approx(1000));  // no growth before it was set
    CHECK_FALSE(h.settled(10 + 60 * 9, d));
    CHECK(h.settled(10 + 60 * 10, d));  // under 1 after ten half-lives
    Damping off = d;
    off.enabled = false;
    CHECK(h.penalty(10, off) == 0);
}

TEST_CASE(
    "hysteresis: the third flap within a half-life holds the address out until the "
    "penalty decays under reuse") {
    const HysteresisSettings s;
    PeerHealth h;
    double t = 0;
    // Flap: pass, fail. Three times, 3 s apart.
    for (int flap = 0; flap < 3; ++flap) {
        h.observe(true, t, s);
        h.observe(true, t + 1, s);
        h.observe(false, t + 2, s);
        t += 3;
    }
    CHECK(h.flaps() == 3);
    const double penalty = h.penalty(t, s.damping);
    CHECK(penalty > 2000);
    CHECK(h.suppressed(t, s.damping));
    // Passing checks do not bring it back while it is damped.
    int passes = 0;
    while (h.suppressed(t, s.damping)) {
        CHECK(h.observe(true, t, s) == Change::None);
        CHECK(h.verdict(t, s.damping) == Verdict::Damped);
        if (passes == 0)
            CHECK(contains(h.explain(t, s), "held out for flapping: 3 flaps, penalty"));
        ++passes;
        t += 1;
    }
    // It came back at the first pass after the penalty fell below 750.
    CHECK(h.observe(true, t, s) == Change::CameIn);
    const double expected = s.damping.half_life * std::log2(penalty / s.damping.reuse);
    CHECK(passes == doctest::Approx(expected).epsilon(0.02));
}

TEST_CASE("hysteresis: a service that keeps flapping while held out stays held out") {
    const HysteresisSettings s;
    PeerHealth h;
    double t = 0;
    double last_flap = 0;
    for (int i = 0; i < 3600; ++i, t += 1) {
        const bool passed = (i / 2) % 2 == 0;  // two rounds up, two down, for an hour
        const unsigned flaps = h.flaps();
        h.observe(passed, t, s);
        if (h.flaps() != flaps) last_flap = t;
        if (i > 10) CHECK_FALSE(h.in());
    }
    // The ceiling bounds how long it stays out after it stops flapping.
    const double at_stop = h.penalty(last_flap, s.damping);
    CHECK(at_stop <= s.damping.ceiling() + 1e-6);
    CHECK(at_stop > 20000);  // near the ceiling (24,000) after an hour of flapping
    while (!h.in()) {
        h.observe(true, t, s);
        t += 1;
    }
    CHECK(t - last_flap <= s.damping.max_suppress + 1);
    CHECK(t - last_flap >= s.damping.half_life * std::log2(at_stop / s.damping.reuse) - 1);
}

TEST_CASE("hysteresis: the damping ceiling is RFC 2439's: reuse x 2^(max_suppress/half_life)") {
    const Damping d;
    CHECK(d.ceiling() == doctest::Approx(750 * 32));
}

TEST_CASE(
    "hysteresis: a clean failover and its return, many times an hour apart, are never "
    "damped") {
    const HysteresisSettings s;
    PeerHealth h;
    double t = 0;
    for (int outage = 0; outage < 24; ++outage) {
        for (int i = 0; i < 3590; ++i) h.observe(true, t++, s);
        CHECK(h.in());
        CHECK(h.observe(false, t++, s) == Change::WentOut);
        for (int i = 0; i < 5; ++i) h.observe(false, t++, s);
        CHECK(h.observe(true, t++, s) == Change::None);    // rise 2
        CHECK(h.observe(true, t++, s) == Change::CameIn);  // back after two good rounds
    }
    CHECK(h.flaps() == 24);
}

TEST_CASE("hysteresis: thousands of random rounds keep the state consistent") {
    const HysteresisSettings s;
    PeerHealth h;
    uint64_t x = 88172645463325252ull;  // xorshift: a fixed schedule, reproducible
    double t = 0;
    for (int i = 0; i < 20000; ++i) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const bool passed = (x % 100) < (i % 2000 < 1000 ? 95u : 50u);
        const bool was_in = h.in();
        const Change c = h.observe(passed, t, s);
        t += 0.5 + static_cast<double>(x % 1000) / 1000;
        CHECK((c == Change::WentOut) == (was_in && !h.in()));
        CHECK((c == Change::CameIn) == (!was_in && h.in()));
        if (c == Change::CameIn) {
            CHECK(h.passes_in_a_row() >= s.rise);
            CHECK_FALSE(h.suppressed(t, s.damping));
        }
        if (c == Change::WentOut) CHECK(h.failures_in_a_row() >= s.fall);
        CHECK(h.penalty(t, s.damping) <= s.damping.ceiling() + 1e-6);
        CHECK(h.verdict(t, s.damping) == (h.in()                       ? Verdict::Alive
                                          : !passed                    ? Verdict::Dead
                                          : h.suppressed(t, s.damping) ? Verdict::Damped
                                                                       : Verdict::Recovering));
    }
}
