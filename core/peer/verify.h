// Every check a received peer message goes through before it is used, in
// one place, cheapest first and nothing remembered before the MAC holds:
// layout (size, magic, version, kind, fields, exact length), then the MAC
// under the pool key, then (questions) the clock window and the replay
// cache. The sender's membership is the transport's first check (before
// any of this, transport.h); the binding of an answer to its question (the
// nonce of a question in flight, the same subject) is the asker's last.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "peer/replay.h"
#include "peer/wire.h"

namespace adf::peer {

// The clock window by default: a message sent more than 30 s ago or ahead
// by the receiver's clock is refused. NTP keeps clocks within milliseconds;
// 30 s leaves room for a host whose NTP is failing, while a captured
// question is useless after it.
constexpr uint64_t kDefaultWindowMs = 30000;

// A message that passed: what it says, and which key signed it (0: the
// signing key, 1: the one also accepted; an answer goes out under the key
// its question came in with).
struct Opened {
    Message message;
    size_t signed_by = 0;
};

// A question received at `now_ms` (our wall clock). On None its nonce is
// now in `replays` until the window has passed for it.
Refusal open_question(std::string_view bytes, const Keys &keys, uint64_t now_ms, uint64_t window_ms,
                      ReplayCache &replays, Opened &out);

// An answer received. Its timestamp is not held against the window: the
// nonce of a question in flight makes an answer fresh, which the asker
// checks (transport.h), and a clock that is off shows in the questions.
Refusal open_answer(std::string_view bytes, const Keys &keys, Opened &out);

}  // namespace adf::peer
