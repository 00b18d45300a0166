// The peer protocol's reader (core/peer/wire, verify): any datagram, as a
// stranger, a broken network or a member with a bug would send it.
//
// Invariants: never a crash, and nothing larger than kMaxMessageBytes is
// read. A layout that parses re-encodes to the same bytes (decode then
// encode is the identity). A message that verifies under the pool key was
// produced with it: it equals encode() of what was read, and no byte of it
// can change without the message being refused. The same layout signed
// again with the key verifies and reads back the same (so every field the
// parser accepts can travel); signed with another key it is refused; a
// question is accepted once, its copy refused as a replay.
#include <cstdint>
#include <string>
#include <string_view>

#include "invariant.h"
#include "peer/replay.h"
#include "peer/verify.h"
#include "peer/wire.h"

namespace {

using namespace adf::peer;

// The key of the specification's examples (the bytes 0..31): the seeds in
// corpus/peer/ are signed with it.
Keys pool_keys() {
    std::string bytes;
    for (int i = 0; i < 32; ++i) bytes += static_cast<char>(i);
    return Keys{Key{bytes}, std::nullopt};
}

Key other_key() {
    Key key = pool_keys().signing;
    key.bytes[7] ^= 0x40;
    return key;
}

// Opens `bytes` as what it says it is, at its own sent time (so the clock
// window never refuses it: the window has tests of its own).
Refusal open(std::string_view bytes, const Keys &keys, Kind kind, uint64_t sent_at_ms,
             ReplayCache &replays, Opened &out) {
    if (kind == Kind::Question)
        return open_question(bytes, keys, sent_at_ms, kDefaultWindowMs, replays, out);
    return open_answer(bytes, keys, out);
}

std::string sealed(const Message &message, const Key &key) { return encode(message, key); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const std::string_view bytes(reinterpret_cast<const char *>(data), size);
    const Keys keys = pool_keys();

    Message parsed;
    const Refusal layout = parse(bytes, parsed);
    {
        ReplayCache replays(4);
        Opened opened;
        // Every opener on every input, whatever its layout.
        open_question(bytes, keys, 1700000000000, kDefaultWindowMs, replays, opened);
        open_answer(bytes, keys, opened);
    }
    if (layout != Refusal::None) return 0;

    FUZZ_REQUIRE(size <= kMaxMessageBytes, "a message larger than the protocol's largest parsed");
    FUZZ_REQUIRE(size >= kMacBytes, "a message without room for its MAC parsed");
    const std::string_view body = bytes.substr(0, size - kMacBytes);
    FUZZ_REQUIRE(signed_part(parsed) == body, "decode then encode changed the bytes");

    // As it came: if it verifies, it was made with the key.
    ReplayCache replays;
    Opened opened;
    const Kind kind = parsed.kind();
    if (open(bytes, keys, kind, parsed.sent_at_ms, replays, opened) == Refusal::None) {
        FUZZ_REQUIRE(sealed(opened.message, keys.signing) == bytes,
                     "a message that verified is not what the key makes of its content");
        for (size_t i = 0; i < size; ++i) {
            std::string changed(bytes);
            changed[i] = static_cast<char>(changed[i] ^ 0x01);
            ReplayCache fresh;
            Opened ignored;
            FUZZ_REQUIRE(open(changed, keys, kind, parsed.sent_at_ms, fresh, ignored) !=
                             Refusal::None,
                         "a message changed in one byte still verified");
        }
    }

    // The same layout, signed: every field the parser accepts can travel.
    const std::string resigned = sealed(parsed, keys.signing);
    FUZZ_REQUIRE(resigned.substr(0, body.size()) == body, "signing changed the content");
    ReplayCache once;
    Opened again;
    FUZZ_REQUIRE(open(resigned, keys, kind, parsed.sent_at_ms, once, again) == Refusal::None,
                 "a well-formed message signed with the key was refused");
    FUZZ_REQUIRE(signed_part(again.message) == body, "a signed message read back differently");
    FUZZ_REQUIRE(again.signed_by == 0, "the signing key was not named as the signer");
    if (kind == Kind::Question)
        FUZZ_REQUIRE(open(resigned, keys, kind, parsed.sent_at_ms, once, again) ==
                         Refusal::Replayed,
                     "a copy of an accepted question was not refused as a replay");
    ReplayCache other;
    Opened forged;
    FUZZ_REQUIRE(open(sealed(parsed, other_key()), keys, kind, parsed.sent_at_ms, other,
                      forged) == Refusal::BadMac,
                 "a message signed with another key was not refused");
    return 0;
}
