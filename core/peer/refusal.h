// Why a peer message was refused. Every datagram a daemon receives on the
// peer protocol is either used or refused for exactly one of these reasons,
// and each reason is counted (the daemon's metric
// autodnsfailover_peer_messages_refused_total{side, reason}).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

namespace adf::peer {

enum class Refusal : uint8_t {
    None = 0,         // not refused: the message is used
    Oversized,        // longer than any message of the protocol (kMaxMessageBytes)
    Truncated,        // shorter than its own layout says
    TrailingBytes,    // longer than its own layout says
    BadMagic,         // not a peer message at all
    BadVersion,       // a version this daemon does not speak
    BadKind,          // neither question nor answer, or the one not expected here
    Malformed,        // a field out of its range (family, padding, name, reason, flags)
    BadMac,           // not signed with the pool key: forged, corrupted or another pool
    Stale,            // sent longer ago than the clock window
    Future,           // sent later than now plus the clock window (a clock is wrong)
    Replayed,         // its nonce was seen within the window: a copy
    ReplayCacheFull,  // no room to remember its nonce, so it cannot be told from a replay
    UnknownSender,    // a question from an address that is no member of the pool
    Unsolicited,      // an answer to no question in flight (late, duplicate, or made up)
    Mismatch,         // an answer about another address than the question asked about
};
constexpr size_t kRefusalKinds = 16;

// The metric label: "bad_mac", "replay_cache_full"... ("none" for None).
const char *refusal_label(Refusal refusal);

// For log lines: "not signed with the pool key".
const char *refusal_text(Refusal refusal);

// How many messages were refused for each reason.
class RefusalCounts {
   public:
    void add(Refusal refusal) { ++counts_[static_cast<size_t>(refusal)]; }
    uint64_t of(Refusal refusal) const { return counts_[static_cast<size_t>(refusal)]; }
    uint64_t total() const;

   private:
    std::array<uint64_t, kRefusalKinds> counts_{};
};

}  // namespace adf::peer
