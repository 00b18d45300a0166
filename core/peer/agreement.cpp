#include "peer/agreement.h"

#include <algorithm>

#include <fmt/format.h>

namespace adf::peer {
namespace {

const char *const kNoVerdicts =
    "they run no listener, use another key, or their clock is off by more than the window";

std::string observers(size_t n) { return fmt::format("{} other observer{}", n, n == 1 ? "" : "s"); }

Decision fallback(Fallback why, const Tally &tally) {
    Decision d{Outcome::FallBack, why, tally, ""};
    switch (why) {
        case Fallback::NoOneToAsk:
            d.explanation =
                "no other observer to ask (a pool of two): the single-observer rule "
                "decides";
            break;
        case Fallback::NoVerdicts:
            d.explanation = fmt::format(
                "none of the {} gave a verdict ({}): the single-observer "
                "rule decides",
                observers(tally.asked), kNoVerdicts);
            break;
        case Fallback::WitnessesPassed:
            d.explanation = fmt::format(
                "none of the {} answered, but every witness passes: they "
                "are probably down, and the single-observer rule decides",
                observers(tally.asked));
            break;
        case Fallback::None: break;
    }
    return d;
}

Decision by_rule(const Rule &rule, const Tally &tally) {
    Decision d{Outcome::Keep, Fallback::None, tally, ""};
    if (rule.confirmations == 0) {
        const size_t out = tally.for_removal() + 1;  // this observer wants it removed
        const size_t voting = tally.opinions() + 1;
        const bool majority = 2 * out > voting;
        d.outcome = majority ? Outcome::Remove : Outcome::Keep;
        d.explanation =
            fmt::format("{} of {} observers (this one included) see it out{}", out, voting,
                        majority ? ""
                                 : fmt::format("; {} see it alive: it stays (check "
                                               "this host's route to it)",
                                               voting - out));
        return d;
    }
    const size_t needed = std::min<size_t>(rule.confirmations, tally.asked);
    const bool confirmed = tally.for_removal() >= needed;
    d.outcome = confirmed ? Outcome::Remove : Outcome::Keep;
    d.explanation = fmt::format(
        "{} of the {} confirmation{} needed from other observers{}", tally.for_removal(), needed,
        needed == 1 ? "" : "s",
        confirmed ? ""
                  : fmt::format(" ({} see it alive): it stays", tally.alive + tally.recovering));
    return d;
}

std::string stay_out_message(const Tally &t) {
    const size_t n = t.opinions();
    if (t.kept_out() == t.dead)
        return fmt::format(
            "{} of {} peers cannot reach me: not re-adding myself; check this "
            "host's network",
            t.dead, n);
    if (t.kept_out() == t.recovering)
        return fmt::format(
            "{} of {} peers see me recovering (fewer good checks in a row than "
            "rise): not re-adding myself yet",
            t.recovering, n);
    if (t.kept_out() == t.damped)
        return fmt::format(
            "{} of {} peers hold me out for flapping (damping): not re-adding "
            "myself until my penalty decays",
            t.damped, n);
    return fmt::format(
        "{} of {} peers see me out ({} cannot reach me, {} see me recovering, {} "
        "hold me out for flapping): not re-adding myself yet",
        t.kept_out(), n, t.dead, t.recovering, t.damped);
}

}  // namespace

Tally count(const std::vector<Testimony> &testimonies) {
    Tally t;
    t.asked = testimonies.size();
    for (const Testimony &x : testimonies) {
        const bool answered = x.heard == Heard::Answer;
        if (answered && x.verdict == Verdict::Alive)
            ++t.alive;
        else if (answered && x.verdict == Verdict::Dead)
            ++t.dead;
        else if (answered && x.verdict == Verdict::Recovering)
            ++t.recovering;
        else if (answered && x.verdict == Verdict::Damped)
            ++t.damped;
        else if (answered || x.heard == Heard::NoListener || x.passes_my_checks)
            ++t.reached_without_opinion;
        else
            ++t.unreached;
    }
    return t;
}

Decision decide_removal(const Rule &rule, Verdict mine, const std::vector<Testimony> &testimonies,
                        std::optional<bool> witnesses_passed) {
    const Tally tally = count(testimonies);
    if (!wants_removed(mine))
        return Decision{Outcome::Keep, Fallback::None, tally,
                        fmt::format("this observer sees it {}", verdict_name(mine))};
    if (tally.asked == 0) return fallback(Fallback::NoOneToAsk, tally);
    if (tally.opinions() > 0) return by_rule(rule, tally);
    if (tally.reached_without_opinion > 0) return fallback(Fallback::NoVerdicts, tally);
    if (witnesses_passed.value_or(false)) return fallback(Fallback::WitnessesPassed, tally);
    return Decision{Outcome::Isolated, Fallback::None, tally,
                    fmt::format("none of the {} answered, and none passes this host's checks: "
                                "this host is probably cut off, so nobody is removed",
                                observers(tally.asked))};
}

SelfDecision decide_self(const std::vector<Testimony> &testimonies,
                         std::optional<bool> witnesses_passed) {
    const Tally t = count(testimonies);
    const auto fall_back = [&](Fallback why) {
        const Decision d = fallback(why, t);
        return SelfDecision{SelfOutcome::FallBack, why, t, "re-adding myself: " + d.explanation};
    };
    if (t.asked == 0) return fall_back(Fallback::NoOneToAsk);
    if (t.opinions() > 0) {
        if (2 * t.kept_out() > t.opinions())
            return SelfDecision{SelfOutcome::StayOut, Fallback::None, t, stay_out_message(t)};
        return SelfDecision{
            SelfOutcome::ReAdd, Fallback::None, t,
            fmt::format("{} of {} peers see me alive: re-adding myself", t.alive, t.opinions())};
    }
    if (t.reached_without_opinion > 0) return fall_back(Fallback::NoVerdicts);
    if (witnesses_passed.value_or(false)) return fall_back(Fallback::WitnessesPassed);
    return SelfDecision{SelfOutcome::StayOut, Fallback::None, t,
                        fmt::format("none of my {} peers answered and none passes my checks: "
                                    "this host is probably cut off from them; not re-adding "
                                    "myself; check this host's network",
                                    t.asked)};
}

std::vector<Address> observers_to_ask(const std::vector<Address> &set, const Address &subject,
                                      const Address &self, size_t max_asked,
                                      std::mt19937_64 &random) {
    std::vector<Address> chosen;
    for (const Address &a : set)
        if (a != subject && a != self) chosen.push_back(a);
    if (chosen.size() > max_asked) {
        std::shuffle(chosen.begin(), chosen.end(), random);
        chosen.resize(max_asked);
        std::sort(chosen.begin(), chosen.end());
    }
    return chosen;
}

}  // namespace adf::peer
