#include "peer/verify.h"

#include <cstdint>

namespace adf::peer {
namespace {

// Layout, then the MAC, for a message of kind `expected`.
Refusal open_signed(std::string_view bytes, const Keys &keys, Kind expected, Opened &out) {
    const Refusal layout = parse(bytes, out.message);
    if (layout != Refusal::None) return layout;
    if (out.message.kind() != expected) return Refusal::BadKind;
    return check_mac(bytes, keys, out.signed_by);
}

}  // namespace

Refusal open_question(std::string_view bytes, const Keys &keys, uint64_t now_ms, uint64_t window_ms,
                      ReplayCache &replays, Opened &out) {
    const Refusal signed_ok = open_signed(bytes, keys, Kind::Question, out);
    if (signed_ok != Refusal::None) return signed_ok;
    const uint64_t sent = out.message.sent_at_ms;
    const Refusal timely = check_time(sent, now_ms, window_ms);
    if (timely != Refusal::None) return timely;
    // A copy passes the window until sent + window: remember it that long
    // (saturated: a time near the end of uint64 must not wrap to the past,
    // which would forget the nonce at once; found by fuzz_peer).
    const uint64_t until = sent > UINT64_MAX - window_ms ? UINT64_MAX : sent + window_ms;
    return replays.admit(out.message.nonce, until, now_ms);
}

Refusal open_answer(std::string_view bytes, const Keys &keys, Opened &out) {
    return open_signed(bytes, keys, Kind::Answer, out);
}

}  // namespace adf::peer
