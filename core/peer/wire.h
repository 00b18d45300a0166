// The peer protocol's messages, byte by byte (sdk/peer-protocol.md is the
// specification): a question ("what is your verdict on this address, for
// this name, no older than T?") and its answer, each one UDP datagram of at
// most kMaxMessageBytes, signed with HMAC-SHA256 under the pool key. Pure
// functions over bytes: no socket, no clock, so tests and the fuzzer call
// them directly.
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "net/address.h"
#include "peer/crypto.h"
#include "peer/refusal.h"

namespace adf::peer {

constexpr uint8_t kProtocolVersion = 1;
// The pool's port when the config names none (no IANA assignment; chosen
// clear of memberlist's 7946 and of DNS, mDNS and LLMNR).
constexpr uint16_t kDefaultPort = 7953;
constexpr std::array<char, 4> kMagic = {'A', 'D', 'F', 'P'};

constexpr size_t kHeaderBytes = 32;      // magic, version, kind, flags, sent_at, nonce
constexpr size_t kAddressBytes = 17;     // family, then 16 bytes (IPv4: 4, then 12 zeros)
constexpr size_t kMaxFqdnBytes = 253;    // the longest DNS name in text, without its final dot
constexpr size_t kMaxReasonBytes = 200;  // printable ASCII
constexpr uint32_t kMaxWaitMs = 60000;   // the longest an asker may say it waits

// header + subject + max_age + wait + fqdn length + MAC; the fqdn follows.
constexpr size_t kQuestionFixedBytes = kHeaderBytes + kAddressBytes + 4 + 4 + 1 + kMacBytes;
// header + subject + verdict + age + observer + reason length + MAC; the reason follows.
constexpr size_t kAnswerFixedBytes =
    kHeaderBytes + kAddressBytes + 1 + 4 + kAddressBytes + 1 + kMacBytes;
// No message of version 1 is longer: a larger datagram is refused unread.
constexpr size_t kMaxMessageBytes =
    std::max(kQuestionFixedBytes + kMaxFqdnBytes, kAnswerFixedBytes + kMaxReasonBytes);
static_assert(kMaxMessageBytes < 1200, "a peer message must fit any path's MTU");

enum class Kind : uint8_t { Question = 1, Answer = 2 };

// What an observer says about an address.
enum class Verdict : uint8_t {
    Alive = 1,       // its checks pass, and it counts as in
    Dead = 2,        // its checks fail
    Recovering = 3,  // it was out; its checks pass again, but fewer than `rise` in a row
    Damped = 4,      // it was out and flapped: held out until its penalty decays (RFC 2439)
    Unknown = 5,     // no verdict fresh enough, and none could be made in time
    NotTracked = 6,  // the observer does not watch this address for this name
};

const char *verdict_name(Verdict verdict);  // "alive", "dead", "recovering"...
// Alive, Dead, Recovering or Damped: an opinion the agreement rules count.
bool is_opinion(Verdict verdict);
// Dead or Damped: the observer wants the address removed from DNS. (A
// recovering address passes its checks: nobody removes it for that.)
bool wants_removed(Verdict verdict);
// Dead, Recovering or Damped: the observer does not want the address back
// yet (asked by the address itself, agreement.h's decide_self).
bool keeps_out(Verdict verdict);

struct Question {
    Address subject;          // the address asked about
    std::string fqdn;         // the name it is listed under (lower case, no final dot)
    uint32_t max_age_ms = 0;  // the verdict must have been taken at most this long ago
    uint32_t wait_ms = 0;     // how long the asker waits for the answer (<= kMaxWaitMs)
};

struct Answer {
    Address subject;  // the question's, repeated
    Verdict verdict = Verdict::Unknown;
    uint32_t age_ms = 0;  // how long ago the verdict was taken (0 without one)
    Address observer;     // the answering daemon's own address
    std::string reason;   // why (a check's error, "recovering: 1 of 2"); may be ""
};

struct Message {
    uint64_t sent_at_ms = 0;  // the sender's wall clock, ms since the Unix epoch
    Nonce nonce{};            // a question's random nonce; an answer repeats its question's
    std::variant<Question, Answer> body;

    Kind kind() const { return body.index() == 0 ? Kind::Question : Kind::Answer; }
};

// The keys of one pool: the one this daemon signs with, and during a key
// rotation a second one it also accepts (sdk/peer-protocol.md, "Keys").
struct Keys {
    Key signing;
    std::optional<Key> also_accepted;
};

// `fqdn` as it may travel: 1 to 253 bytes of lower-case letters, digits, '-'
// and '_' in dot-separated labels of 1 to 63 bytes.
bool is_wire_fqdn(std::string_view fqdn);

// `text` made fit for an answer's reason: bytes outside printable ASCII
// become '?', and a text longer than kMaxReasonBytes is cut and ends in "...".
std::string wire_reason(std::string_view text);

// The message's bytes without its MAC: everything the MAC covers. Throws
// std::invalid_argument for a field that may not travel (a family other
// than 4 or 6, a bad fqdn or reason, a wait over kMaxWaitMs, a verdict out
// of range, an age with Unknown or NotTracked): a bug of the caller.
std::string signed_part(const Message &message);

// The whole message: signed_part() then HMAC-SHA256 of it under `key`.
std::string encode(const Message &message, const Key &key);

// Reads the layout of `bytes` into `out`: size, magic, version, kind, every
// field's range, and exactly as many bytes as the layout says. The MAC is
// not checked (check_mac() does). Refusal::None when the layout is right;
// then signed_part(out) equals `bytes` without its last kMacBytes.
Refusal parse(std::string_view bytes, Message &out);

// Whether the last kMacBytes of `bytes` are the HMAC of the rest under one of
// `keys`: Refusal::None and the key that signed it in `signed_by` (0: the
// signing key, 1: the one also accepted), else BadMac. `bytes` must have
// parsed.
Refusal check_mac(std::string_view bytes, const Keys &keys, size_t &signed_by);

// Whether a message sent at `sent_at_ms` by its sender's clock is inside the
// window around `now_ms` by ours: None, Stale or Future.
Refusal check_time(uint64_t sent_at_ms, uint64_t now_ms, uint64_t window_ms);

}  // namespace adf::peer
