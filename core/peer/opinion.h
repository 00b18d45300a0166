// The answering side of the protocol: how a daemon answers a question about
// an address from its own view of it (hysteresis.h), and when it must check
// the address first. "An answer is fresh": the verdict used was taken no
// longer ago than the question allows, or a check is made for it now.
#pragma once

#include <string>

#include "net/address.h"
#include "peer/hysteresis.h"
#include "peer/wire.h"

namespace adf::peer {

enum class AnswerSource {
    Stored,     // the verdict held is fresh enough: answer it now
    CheckNow,   // check the address now and answer with that (Server::answer_later)
    CannotSay,  // no fresh verdict, and a check would end after the asker stops waiting
};

// How to answer `question` at `now` (monotonic seconds) given what this
// daemon holds on the subject (`health`: null when it holds nothing) and how
// long one check of it takes at most (`check_seconds`: retry x timeout).
AnswerSource answer_source(const PeerHealth *health, const Question &question, double now,
                           double check_seconds);

// The answer from `health` (which has a verdict) at `now`. `observer`:
// this daemon's own address; `check_reason`: the last failed check's
// reason, told when the verdict is Dead (otherwise why it stands as it does).
Answer answer_from(const PeerHealth &health, double now, const HysteresisSettings &settings,
                   const Address &observer, const std::string &check_reason);

// An answer without a verdict: Unknown (with why) or NotTracked.
Answer no_verdict(Verdict verdict, const Address &observer, const std::string &reason);

}  // namespace adf::peer
