// Deciding together (README, "Deciding together"): whether a peer this
// daemon finds dead is removed, given what the other observers of the pool
// said about it; and whether this host, absent from DNS, adds itself back,
// given what its peers say about it. Pure functions of the answers
// collected (transport.h) and of this host's own checks of the observers it
// asked: no I/O, no clock.
//
// The evidence, per observer asked:
//  - an opinion (Alive, Dead, Recovering, Damped): counted by the rule. For
//    a removal, Dead and Damped are for it, Alive and Recovering (its checks
//    pass) against; for a host's return, only Alive is for it;
//  - reached without an opinion (an answer Unknown or NotTracked, or
//    nothing listening on its port), or silent while its host passes this
//    host's own checks (it runs no listener behind a firewall, uses another
//    key, or its clock is off): no opinion, but proof that this host is not
//    cut off from it;
//  - silent or unreachable, and failing this host's checks too: nothing.
#pragma once

#include <cstddef>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "net/address.h"
#include "peer/transport.h"
#include "peer/wire.h"

namespace adf::peer {

// The rule for removing a peer: 0 for a majority of the observers that
// gave an opinion, this one included; a number k for k other observers
// that see the peer out, whatever the others say (at most as many as were
// asked, so that a small pool can still remove).
struct Rule {
    unsigned confirmations = 0;
};

// What one observer asked said, and how it fares in this host's own checks.
struct Testimony {
    Heard heard = Heard::Silent;
    Verdict verdict = Verdict::Unknown;  // when heard == Answer
    bool passes_my_checks = false;       // this host's last check of that observer passed
};

struct Tally {
    size_t asked = 0;
    size_t alive = 0;
    size_t dead = 0;
    size_t recovering = 0;
    size_t damped = 0;
    size_t reached_without_opinion = 0;  // Unknown, NotTracked, no listener, silent but reachable
    size_t unreached = 0;                // silent or unreachable, and failing this host's checks

    size_t opinions() const { return alive + dead + recovering + damped; }
    size_t for_removal() const { return dead + damped; }
    size_t kept_out() const { return dead + recovering + damped; }
};

Tally count(const std::vector<Testimony> &testimonies);

// Why the single-observer rule (the daemon's rule before agreement, with
// its partition guard) decides instead.
enum class Fallback {
    None,
    NoOneToAsk,       // no other observer (a pool of two, or alone)
    NoVerdicts,       // observers reached, none with an opinion (no listener, another key...)
    WitnessesPassed,  // nobody reached, but every witness passes: the others are down
};

enum class Outcome {
    Remove,    // the rule holds: remove the peer (under the usual safeguards)
    Keep,      // the rule does not hold: the peer stays
    Isolated,  // nobody reached: this host is the likelier one cut off; nobody is removed
    FallBack,  // no evidence either way: the single-observer rule decides (log `why` once)
};

struct Decision {
    Outcome outcome = Outcome::Keep;
    Fallback why = Fallback::None;
    Tally tally;
    std::string explanation;  // for the log, about the peer: "3 of 4 observers ... see it out"
};

// Whether a peer this host sees as `mine` (its own verdict, hysteresis.h;
// only Dead or Damped start a removal) is removed. `witnesses_passed`: nothing when no witness is
// configured or they were not checked; on Outcome::Isolated with witnesses
// configured, check them and decide again with the result.
Decision decide_removal(const Rule &rule, Verdict mine, const std::vector<Testimony> &testimonies,
                        std::optional<bool> witnesses_passed = std::nullopt);

enum class SelfOutcome {
    ReAdd,     // the peers that answered see this host alive (or there is nobody to ask)
    StayOut,   // a majority of them see it out, or it reaches none of them
    FallBack,  // no evidence: re-add as the single-observer rule would (log `why` once)
};

struct SelfDecision {
    SelfOutcome outcome = SelfOutcome::ReAdd;
    Fallback why = Fallback::None;
    Tally tally;
    std::string
        message;  // "3 of 4 peers cannot reach me: not re-adding myself; check this host's network"
};

// Whether this host, absent from DNS with its self-check passing, adds
// itself back: "a host does not fight the pool". Always by a strict
// majority of the peers that gave an opinion (a tie re-adds): the rule for
// removals is about one observer's evidence, this one about the pool's.
SelfDecision decide_self(const std::vector<Testimony> &testimonies,
                         std::optional<bool> witnesses_passed = std::nullopt);

// The observers to ask about `subject`: the members of `set` other than
// `subject` and `self`, all of them up to `max_asked`, else `max_asked` of
// them drawn at random (`random`), so a large pool costs a bounded number
// of questions and no observer is asked by everyone.
std::vector<Address> observers_to_ask(const std::vector<Address> &set, const Address &subject,
                                      const Address &self, size_t max_asked,
                                      std::mt19937_64 &random);

}  // namespace adf::peer
