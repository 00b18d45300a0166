// One observer's filtered view of one address: rise/fall hysteresis (as
// keepalived and HAProxy do it) and route-flap damping (RFC 2439, as BGP
// does it). A raw verdict per check goes in; what comes out is whether the
// address counts as in, and a verdict for the other daemons (Alive, Dead,
// Recovering, Damped). Time is a parameter (monotonic seconds): no clock is read, so
// tests run thousands of rounds in memory.
//
// Defaults and why (README, "Deciding together"; measured by the unit tests):
//  - fall 1: a verdict of "dead" is already `retry` failed attempts in a
//    row, and removal needs other observers to agree; a second failing
//    round would only add one interval to every failover.
//  - rise 2: an address that was out counts as in again after two good
//    checks in a row, so a service that comes back and dies again at once
//    is not put back. It costs one interval on the way back, never on the
//    way out.
//  - damping: 1000 per flap (a failure right after a pass), held out above
//    2000 (the third flap within about a half-life), back below 750, a
//    half-life of 60 s, held out at most 300 s after the last flap. A clean
//    failover is one flap (1000): never damped. A service flapping every
//    few seconds is held out after its third flap and stays out while it
//    flaps, about 2 minutes after it stops.
#pragma once

#include <cmath>
#include <optional>
#include <string>

#include "peer/wire.h"

namespace adf::peer {

struct Damping {
    bool enabled = true;
    double penalty = 1000;      // added per flap
    double suppress = 2000;     // above this, held out
    double reuse = 750;         // below this, let back in
    double half_life = 60;      // seconds for the penalty to halve
    double max_suppress = 300;  // seconds held out at most after the last flap
    // The penalty never exceeds this, so that it decays below `reuse`
    // within `max_suppress` of the last flap (RFC 2439's ceiling).
    double ceiling() const { return reuse * std::exp2(max_suppress / half_life); }
};

struct HysteresisSettings {
    unsigned rise = 2;  // good checks in a row before an address that was out counts as in
    unsigned fall = 1;  // failed checks in a row before an address counts as out
    Damping damping;
};

class PeerHealth {
   public:
    enum class Change { None, WentOut, CameIn };

    // One check's verdict at `now`.
    Change observe(bool passed, double now, const HysteresisSettings &settings);

    // Whether the address counts as in (initially: innocent until a check fails).
    bool in() const { return in_; }
    // For the other daemons: Alive (in), Dead (out, its last check failed),
    // Damped (out, passing, held out by its penalty), Recovering (out,
    // passing, fewer than `rise` in a row); Unknown before any check.
    Verdict verdict(double now, const Damping &damping) const;
    // When the last check was made; nothing before any.
    std::optional<double> observed_at() const { return observed_at_; }
    unsigned passes_in_a_row() const { return passes_; }
    unsigned failures_in_a_row() const { return failures_; }
    unsigned flaps() const { return flaps_; }  // since this state was made

    double penalty(double now, const Damping &damping) const;
    bool suppressed(double now, const Damping &damping) const;
    // Seconds until a damped address may come back in (0 when it is not damped).
    double damped_for(double now, const Damping &damping) const;
    // No penalty left to remember: the state of an address that is in may
    // be dropped (a new one behaves the same).
    bool settled(double now, const Damping &damping) const;

    // Why it is where it is, for log lines and answers: "recovering: 1 of 2
    // good checks in a row", "held out for flapping: 3 flaps, penalty 2900
    // (held above 2000, back below 750 in about 117 s)".
    std::string explain(double now, const HysteresisSettings &settings) const;

   private:
    void add_flap(double now, const Damping &damping);

    bool in_ = true;
    std::optional<bool> last_passed_;
    std::optional<double> observed_at_;
    unsigned passes_ = 0;
    unsigned failures_ = 0;
    unsigned flaps_ = 0;
    double penalty_ = 0;  // as of penalty_at_
    double penalty_at_ = 0;
    bool suppressed_ = false;  // set by a flap above `suppress`; ends below `reuse`
};

}  // namespace adf::peer
