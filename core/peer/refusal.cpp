#include "peer/refusal.h"

#include <numeric>

namespace adf::peer {

const char *refusal_label(Refusal refusal) {
    switch (refusal) {
        case Refusal::None: return "none";
        case Refusal::Oversized: return "oversized";
        case Refusal::Truncated: return "truncated";
        case Refusal::TrailingBytes: return "trailing_bytes";
        case Refusal::BadMagic: return "bad_magic";
        case Refusal::BadVersion: return "bad_version";
        case Refusal::BadKind: return "bad_kind";
        case Refusal::Malformed: return "malformed";
        case Refusal::BadMac: return "bad_mac";
        case Refusal::Stale: return "stale";
        case Refusal::Future: return "future";
        case Refusal::Replayed: return "replayed";
        case Refusal::ReplayCacheFull: return "replay_cache_full";
        case Refusal::UnknownSender: return "unknown_sender";
        case Refusal::Unsolicited: return "unsolicited";
        case Refusal::Mismatch: return "mismatch";
    }
    return "unknown";
}

const char *refusal_text(Refusal refusal) {
    switch (refusal) {
        case Refusal::None: return "accepted";
        case Refusal::Oversized: return "larger than any peer message";
        case Refusal::Truncated: return "shorter than its layout (truncated)";
        case Refusal::TrailingBytes: return "bytes after its end";
        case Refusal::BadMagic: return "not a peer protocol message";
        case Refusal::BadVersion: return "a protocol version this daemon does not speak";
        case Refusal::BadKind: return "not the kind of message expected here";
        case Refusal::Malformed: return "a field out of its range";
        case Refusal::BadMac: return "not signed with the pool key";
        case Refusal::Stale: return "sent longer ago than the clock window allows";
        case Refusal::Future: return "sent in the future by more than the clock window";
        case Refusal::Replayed: return "a replay of a message already seen";
        case Refusal::ReplayCacheFull: return "the replay cache is full";
        case Refusal::UnknownSender: return "sent from an address that is no member of the pool";
        case Refusal::Unsolicited: return "an answer to no question in flight";
        case Refusal::Mismatch: return "an answer about another address than asked";
    }
    return "unknown";
}

uint64_t RefusalCounts::total() const {
    return std::accumulate(counts_.begin(), counts_.end(), uint64_t{0});
}

}  // namespace adf::peer
