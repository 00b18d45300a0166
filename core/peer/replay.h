// The nonces of the questions a daemon accepted, remembered for as long as a
// copy of such a question would still pass the clock window, so that a
// replayed question is refused (Refusal::Replayed). Bounded: at most
// `capacity` nonces (kDefaultReplayCapacity: 65,536, about 80 bytes each,
// 5 MiB when full). Only questions whose MAC holds get here, so only a
// member's traffic can fill it; when full of nonces that have not expired it
// refuses the new question (ReplayCacheFull) rather than forget an old nonce,
// which would let that question be replayed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <queue>
#include <unordered_set>
#include <utility>
#include <vector>

#include "peer/crypto.h"
#include "peer/refusal.h"

namespace adf::peer {

// A pool of 100 daemons asking 8 peers each about 10 dead addresses every
// second sends each daemon about 80 questions a second: 4,800 nonces within
// a 30 s window (a minute at most, with clocks 30 s apart). The cap leaves
// room for ten times that.
constexpr size_t kDefaultReplayCapacity = 65536;

class ReplayCache {
   public:
    explicit ReplayCache(size_t capacity = kDefaultReplayCapacity);

    // Remembers `nonce` until `expires_ms` (our wall clock, ms) and returns
    // Refusal::None; Replayed when it is remembered already; ReplayCacheFull
    // when `capacity` nonces that expire after `now_ms` are held.
    Refusal admit(const Nonce &nonce, uint64_t expires_ms, uint64_t now_ms);

    size_t size() const { return nonces_.size(); }
    size_t capacity() const { return capacity_; }

   private:
    struct Hash {
        uint64_t salt;  // random: nonces chosen to collide cannot slow the set down
        size_t operator()(const Nonce &nonce) const;
    };
    using Entry = std::pair<uint64_t, Nonce>;  // expiry, nonce

    void forget_expired(uint64_t now_ms);

    size_t capacity_;
    std::unordered_set<Nonce, Hash> nonces_;
    std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> by_expiry_;
};

}  // namespace adf::peer
