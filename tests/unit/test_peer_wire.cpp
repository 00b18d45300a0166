#include <doctest/doctest.h>

#include <set>
#include <stdexcept>
#include <string>

#include "peer/crypto.h"
#include "peer/replay.h"
#include "peer/verify.h"
#include "peer/wire.h"
#include "peer_test_support.h"

using namespace adf::peer;
using peer_test::address;
using peer_test::example_answer;
using peer_test::example_question;
using peer_test::hex;
using peer_test::test_key;
using peer_test::test_keys;

namespace {

// Computed independently of this code (Python's hmac and struct modules
// over the layout of sdk/peer-protocol.md): the specification's examples.
const char *const kExampleQuestionHex =
    "41444650010100000000018bcfe5687b000102030405060708090a0b0c0d0e0f04c000020a00000000000000"
    "0000000000000005dc000007d00f7777772e6578616d706c652e636f6d31e420e05a86325d1ade27a57663b617"
    "1fa464cc5d9bf1194406378145ceb35f";
const char *const kExampleAnswerHex =
    "41444650010200000000018bcfe569c8000102030405060708090a0b0c0d0e0f04c000020a00000000000000"
    "000000000002000000fa0620010db800000000000000000000000712636f6e6e656374696f6e207265667573"
    "65642c04c035b0cae5b552c28e9c48689291946a05782564b0460d36ce08a1d129db";

Refusal parsed(const std::string &bytes) {
    Message m;
    return parse(bytes, m);
}

// `bytes` with the byte at `offset` replaced and the MAC made right again,
// so that only the layout check can refuse it.
std::string resigned(std::string bytes, size_t offset, char value) {
    bytes[offset] = value;
    std::string body = bytes.substr(0, bytes.size() - kMacBytes);
    const Mac mac = mac_of(test_key(), body);
    return body + std::string(reinterpret_cast<const char *>(mac.data()), mac.size());
}

Message question_about(const std::string &subject, const std::string &fqdn) {
    Message m = example_question();
    std::get<Question>(m.body).subject = address(subject);
    std::get<Question>(m.body).fqdn = fqdn;
    return m;
}

}  // namespace

TEST_CASE("peer wire: the specification's examples, byte for byte") {
    CHECK(hex(encode(example_question(), test_key())) == kExampleQuestionHex);
    CHECK(hex(encode(example_answer(), test_key())) == kExampleAnswerHex);
}

TEST_CASE("peer wire: a question and an answer read back as they were written") {
    for (const Message &original :
         {example_question(), question_about("2001:db8::1", "a-b_c.example"), example_answer()}) {
        const std::string bytes = encode(original, test_key());
        Message back;
        REQUIRE(parse(bytes, back) == Refusal::None);
        CHECK(back.kind() == original.kind());
        CHECK(back.sent_at_ms == original.sent_at_ms);
        CHECK(back.nonce == original.nonce);
        CHECK(signed_part(back) == bytes.substr(0, bytes.size() - kMacBytes));
        size_t signed_by = 9;
        CHECK(check_mac(bytes, test_keys(), signed_by) == Refusal::None);
        CHECK(signed_by == 0);
    }
    Message back;
    REQUIRE(parse(encode(example_answer(), test_key()), back) == Refusal::None);
    const Answer &a = std::get<Answer>(back.body);
    CHECK(a.subject == address("192.0.2.10"));
    CHECK(a.verdict == Verdict::Dead);
    CHECK(a.age_ms == 250);
    CHECK(a.observer == address("2001:db8::7"));
    CHECK(a.reason == "connection refused");
}

TEST_CASE("peer wire: every message fits one datagram far below 1200 bytes") {
    const std::string longest_name = std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                                     std::string(63, 'c') + "." + std::string(61, 'd');
    REQUIRE(longest_name.size() == kMaxFqdnBytes);
    const std::string question = encode(question_about("2001:db8::1", longest_name), test_key());
    CHECK(question.size() == kQuestionFixedBytes + kMaxFqdnBytes);
    Message answer = example_answer();
    std::get<Answer>(answer.body).reason = wire_reason(std::string(5000, 'x'));
    const std::string longest_answer = encode(answer, test_key());
    CHECK(longest_answer.size() == kAnswerFixedBytes + kMaxReasonBytes);
    CHECK(question.size() <= kMaxMessageBytes);
    CHECK(longest_answer.size() <= kMaxMessageBytes);
    CHECK(kMaxMessageBytes == 343);
    CHECK(kQuestionFixedBytes == 90);
    CHECK(kAnswerFixedBytes == 104);
}

TEST_CASE("peer wire: reasons are made printable and cut, never refused at the sender") {
    CHECK(wire_reason("timed out\nafter 1 s\x1b[31m") == "timed out?after 1 s?[31m");
    CHECK(wire_reason("caf\xc3\xa9") == "caf??");
    const std::string cut = wire_reason(std::string(300, 'r'));
    CHECK(cut.size() == kMaxReasonBytes);
    CHECK(cut.substr(cut.size() - 3) == "...");
    CHECK(wire_reason(std::string(kMaxReasonBytes, 'r')) == std::string(kMaxReasonBytes, 'r'));
}

TEST_CASE("peer wire: names travel only as lower-case host names") {
    CHECK(is_wire_fqdn("www.example.com"));
    CHECK(is_wire_fqdn("_service.x-y.example"));
    CHECK(is_wire_fqdn("localhost"));
    CHECK_FALSE(is_wire_fqdn(""));
    CHECK_FALSE(is_wire_fqdn("WWW.example.com"));
    CHECK_FALSE(is_wire_fqdn("www.example.com."));
    CHECK_FALSE(is_wire_fqdn(".example.com"));
    CHECK_FALSE(is_wire_fqdn("a..b"));
    CHECK_FALSE(is_wire_fqdn("a b.example"));
    CHECK_FALSE(is_wire_fqdn(std::string(64, 'a') + ".example"));
    CHECK(is_wire_fqdn(std::string(63, 'a') + ".example"));
    CHECK_FALSE(is_wire_fqdn(std::string(254, 'a')));
}

TEST_CASE("peer wire: the encoder refuses what may not travel") {
    Message m = question_about("192.0.2.1", "Upper.example");
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
    m = example_question();
    std::get<Question>(m.body).wait_ms = kMaxWaitMs + 1;
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
    m = example_question();
    std::get<Question>(m.body).subject.family = 5;
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
    m = example_answer();
    std::get<Answer>(m.body).verdict = Verdict::Unknown;  // age 250 without a verdict
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
    std::get<Answer>(m.body).age_ms = 0;
    CHECK_NOTHROW(encode(m, test_key()));
    std::get<Answer>(m.body).reason = "two\nlines";
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
    std::get<Answer>(m.body).reason = "";
    std::get<Answer>(m.body).verdict = static_cast<Verdict>(9);
    CHECK_THROWS_AS(encode(m, test_key()), std::invalid_argument);
}

TEST_CASE("peer wire: oversized, truncated and trailing bytes are refused") {
    const std::string bytes = encode(example_question(), test_key());
    CHECK(parsed(bytes + "x") == Refusal::TrailingBytes);
    CHECK(parsed(bytes + std::string(kMaxMessageBytes, '\0')) == Refusal::Oversized);
    CHECK(parsed(std::string(kMaxMessageBytes + 1, 'A')) == Refusal::Oversized);
    // Every cut of a question or an answer is refused, most as truncated.
    for (const std::string &whole : {bytes, encode(example_answer(), test_key())}) {
        for (size_t length = 0; length < whole.size(); ++length) {
            const Refusal r = parsed(whole.substr(0, length));
            CAPTURE(length);
            CHECK(r == Refusal::Truncated);
        }
    }
}

TEST_CASE("peer wire: each field out of its range is refused by the layout check") {
    const std::string q = encode(example_question(), test_key());
    const std::string a = encode(example_answer(), test_key());
    CHECK(parsed(resigned(q, 0, 'X')) == Refusal::BadMagic);
    CHECK(parsed(resigned(q, 4, 2)) == Refusal::BadVersion);
    CHECK(parsed(resigned(q, 4, 0)) == Refusal::BadVersion);
    CHECK(parsed(resigned(q, 5, 0)) == Refusal::BadKind);
    CHECK(parsed(resigned(q, 5, 3)) == Refusal::BadKind);
    CHECK(parsed(resigned(q, 6, 1)) == Refusal::Malformed);  // flags
    CHECK(parsed(resigned(q, 7, 1)) == Refusal::Malformed);
    CHECK(parsed(resigned(q, 32, 5)) == Refusal::Malformed);     // family
    CHECK(parsed(resigned(q, 40, 1)) == Refusal::Malformed);     // IPv4 padding
    CHECK(parsed(resigned(q, 58, 'W')) == Refusal::Malformed);   // upper case in the name
    CHECK(parsed(resigned(q, 62, '.')) == Refusal::Malformed);   // "www..xample.com"
    CHECK(parsed(resigned(q, 53, 1)) == Refusal::Malformed);     // wait of 16 million ms
    CHECK(parsed(resigned(a, 49, 0)) == Refusal::Malformed);     // verdict 0
    CHECK(parsed(resigned(a, 49, 7)) == Refusal::Malformed);     // verdict 7
    CHECK(parsed(resigned(a, 49, 5)) == Refusal::Malformed);     // unknown, with an age
    CHECK(parsed(resigned(a, 49, 6)) == Refusal::Malformed);     // not tracked, with an age
    CHECK(parsed(resigned(a, 49, 4)) == Refusal::None);          // damped, with an age
    CHECK(parsed(resigned(a, 54, 0)) == Refusal::Malformed);     // observer family
    CHECK(parsed(resigned(a, 72, '\n')) == Refusal::Malformed);  // reason
    CHECK(parsed(resigned(a, 72, '\x80')) == Refusal::Malformed);
    // A length byte that runs past the end is a truncation.
    CHECK(parsed(resigned(q, 57, 100)) == Refusal::Truncated);
    // One that stops early leaves bytes before the MAC.
    CHECK(parsed(resigned(q, 57, 14)) == Refusal::TrailingBytes);
}

TEST_CASE("peer wire: a message not signed with the pool key is refused") {
    const std::string bytes = encode(example_question(), test_key());
    Key other = test_key();
    other.bytes[0] = 'x';
    size_t signed_by = 0;
    CHECK(check_mac(bytes, Keys{other, std::nullopt}, signed_by) == Refusal::BadMac);
    // Any bit flipped anywhere is refused, by the layout or by the MAC.
    for (size_t i = 0; i < bytes.size(); ++i) {
        for (int bit = 0; bit < 8; ++bit) {
            std::string flipped = bytes;
            flipped[i] = static_cast<char>(flipped[i] ^ (1 << bit));
            Opened opened;
            ReplayCache replays;
            CAPTURE(i);
            CHECK(open_question(flipped, test_keys(), 1700000000123, kDefaultWindowMs, replays,
                                opened) != Refusal::None);
        }
    }
}

TEST_CASE("peer wire: during a key rotation the second key is accepted and named") {
    Key next = test_key();
    next.bytes[31] = 'n';
    const std::string under_next = encode(example_question(), next);
    size_t signed_by = 0;
    CHECK(check_mac(under_next, test_keys(), signed_by) == Refusal::BadMac);
    CHECK(check_mac(under_next, Keys{test_key(), next}, signed_by) == Refusal::None);
    CHECK(signed_by == 1);
    CHECK(check_mac(encode(example_question(), test_key()), Keys{test_key(), next}, signed_by) ==
          Refusal::None);
    CHECK(signed_by == 0);
}

TEST_CASE("peer wire: the clock window, to the millisecond") {
    CHECK(check_time(1000, 1000, 30000) == Refusal::None);
    CHECK(check_time(1000, 31000, 30000) == Refusal::None);
    CHECK(check_time(1000, 31001, 30000) == Refusal::Stale);
    CHECK(check_time(31000, 1000, 30000) == Refusal::None);
    CHECK(check_time(31001, 1000, 30000) == Refusal::Future);
    CHECK(check_time(0, UINT64_MAX, 30000) == Refusal::Stale);
    CHECK(check_time(UINT64_MAX, 0, 30000) == Refusal::Future);
}

TEST_CASE("peer verify: a question is used once; a copy is refused as replayed, then as stale") {
    const std::string bytes = encode(example_question(), test_key());
    const uint64_t sent = example_question().sent_at_ms;
    ReplayCache replays;
    Opened opened;
    REQUIRE(open_question(bytes, test_keys(), sent + 5, kDefaultWindowMs, replays, opened) ==
            Refusal::None);
    CHECK(std::get<Question>(opened.message.body).fqdn == "www.example.com");
    CHECK(open_question(bytes, test_keys(), sent + 10, kDefaultWindowMs, replays, opened) ==
          Refusal::Replayed);
    CHECK(open_question(bytes, test_keys(), sent + kDefaultWindowMs, kDefaultWindowMs, replays,
                        opened) == Refusal::Replayed);
    CHECK(open_question(bytes, test_keys(), sent + kDefaultWindowMs + 1, kDefaultWindowMs, replays,
                        opened) == Refusal::Stale);
    CHECK(open_question(bytes, test_keys(), sent - kDefaultWindowMs - 1, kDefaultWindowMs, replays,
                        opened) == Refusal::Future);
}

TEST_CASE("peer verify: a question sent near the end of time is still refused as replayed") {
    // sent + window would wrap around to the past and forget the nonce at once.
    Message question = example_question();
    question.sent_at_ms = UINT64_MAX - 5;
    const std::string bytes = encode(question, test_key());
    ReplayCache replays;
    Opened opened;
    REQUIRE(open_question(bytes, test_keys(), UINT64_MAX - 5, kDefaultWindowMs, replays, opened) ==
            Refusal::None);
    CHECK(open_question(bytes, test_keys(), UINT64_MAX - 4, kDefaultWindowMs, replays, opened) ==
          Refusal::Replayed);
}

TEST_CASE("peer verify: a question is not an answer, nor an answer a question") {
    ReplayCache replays;
    Opened opened;
    const std::string answer = encode(example_answer(), test_key());
    const std::string question = encode(example_question(), test_key());
    CHECK(open_question(answer, test_keys(), 1700000000456, kDefaultWindowMs, replays, opened) ==
          Refusal::BadKind);
    CHECK(open_answer(question, test_keys(), opened) == Refusal::BadKind);
    CHECK(open_answer(answer, test_keys(), opened) == Refusal::None);
    CHECK(replays.size() == 0);  // nothing is remembered of what was refused
}

TEST_CASE("peer verify: forged questions never enter the replay cache") {
    ReplayCache replays(4);
    Key other = test_key();
    other.bytes[3] = 'z';
    for (int i = 0; i < 100; ++i) {
        Message m = example_question();
        m.nonce[0] = static_cast<uint8_t>(i);
        Opened opened;
        CHECK(open_question(encode(m, other), test_keys(), m.sent_at_ms, kDefaultWindowMs, replays,
                            opened) == Refusal::BadMac);
    }
    CHECK(replays.size() == 0);
}

TEST_CASE("peer replay cache: full of live nonces it refuses instead of forgetting one") {
    ReplayCache replays(3);
    auto nonce = [](uint8_t n) {
        Nonce x{};
        x[15] = n;
        return x;
    };
    CHECK(replays.admit(nonce(1), 100, 0) == Refusal::None);
    CHECK(replays.admit(nonce(2), 200, 0) == Refusal::None);
    CHECK(replays.admit(nonce(3), 300, 0) == Refusal::None);
    CHECK(replays.admit(nonce(4), 400, 50) == Refusal::ReplayCacheFull);
    CHECK(replays.admit(nonce(1), 100, 50) == Refusal::Replayed);  // still remembered
    // Expired nonces make room; the one expiring at 100 is held through 100.
    CHECK(replays.admit(nonce(4), 400, 100) == Refusal::ReplayCacheFull);
    CHECK(replays.admit(nonce(4), 400, 101) == Refusal::None);
    CHECK(replays.size() == 3);
    // Nonce 1 expired and was forgotten: it is new again, but there is no room until 200.
    CHECK(replays.admit(nonce(1), 500, 101) == Refusal::ReplayCacheFull);
    CHECK(replays.admit(nonce(1), 500, 201) == Refusal::None);
}

TEST_CASE("peer replay cache: thousands of nonces, each refused once seen, memory bounded") {
    ReplayCache replays(5000);
    std::set<Nonce> sent;
    uint64_t now = 0;
    size_t full = 0;
    for (int i = 0; i < 20000; ++i) {
        now += 3;  // 333 questions a second, each remembered 30 s: 10,000 live at once
        const Nonce nonce = random_nonce();
        const Refusal r = replays.admit(nonce, now + 30000, now);
        if (r == Refusal::ReplayCacheFull) {
            ++full;
            continue;
        }
        REQUIRE(r == Refusal::None);
        sent.insert(nonce);
        CHECK(replays.admit(nonce, now + 30000, now) == Refusal::Replayed);
        CHECK(replays.size() <= 5000);
    }
    CHECK(full > 0);
    CHECK(replays.size() == 5000);
}

TEST_CASE("peer crypto: the pool key is base64 of 32 to 64 random bytes") {
    const auto good = decode_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
    REQUIRE(good);
    CHECK(good->bytes == test_key().bytes);
    CHECK(decode_key("  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"));  // a file's newline
    // `openssl rand -base64 64` wraps its output: one line is asked for.
    CHECK_FALSE(decode_key("AAECAwQFBgcICQoLDA0ODxAR\nEhMUFRYXGBkaGxwdHh8="));
    CHECK(decode_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ=="));  // 34 bytes
    const auto short_key = decode_key("AAECAwQFBgcICQoLDA0ODw==");
    REQUIRE_FALSE(short_key);
    CHECK(short_key.reason() ==
          "the key is 16 bytes; a pool key is 32 to 64 random bytes "
          "(make one with `openssl rand -base64 32`)");
    const std::string long_text(88, 'A');  // 66 bytes
    CHECK(decode_key(long_text).reason().find("66 bytes") != std::string::npos);
    CHECK(decode_key("not base64 at all!").reason().find("not base64") != std::string::npos);
    CHECK_FALSE(decode_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"));  // unpadded
    CHECK_FALSE(decode_key("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdH===="));
    CHECK_FALSE(decode_key(""));
    // Plainly not random: a password, and 32 zero bytes.
    const auto password = decode_key("Y29ycmVjdCBob3JzZSBiYXR0ZXJ5IHN0YXBsZSB0d2ljZSE=");
    REQUIRE_FALSE(password);
    CHECK(password.reason().find("printable text") != std::string::npos);
    const auto zeros = decode_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    REQUIRE_FALSE(zeros);
    CHECK(zeros.reason().find("distinct byte values") != std::string::npos);
}

TEST_CASE("peer crypto: nonces are random and MACs compare whole") {
    std::set<Nonce> nonces;
    for (int i = 0; i < 1000; ++i) nonces.insert(random_nonce());
    CHECK(nonces.size() == 1000);
    const Mac a = mac_of(test_key(), "abc");
    Mac b = a;
    CHECK(same_mac(a.data(), b.data()));
    b[31] ^= 1;
    CHECK_FALSE(same_mac(a.data(), b.data()));
    // RFC 4231 test case 2: key "Jefe".
    const Mac jefe = mac_of(Key{"Jefe"}, "what do ya want for nothing?");
    CHECK(peer_test::hex(std::string(jefe.begin(), jefe.end())) ==
          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST_CASE("peer refusals: every reason has a metric label and a sentence") {
    std::set<std::string> labels;
    for (size_t i = 0; i < kRefusalKinds; ++i) {
        const auto r = static_cast<Refusal>(i);
        labels.insert(refusal_label(r));
        CHECK(std::string(refusal_text(r)) != "unknown");
    }
    CHECK(labels.size() == kRefusalKinds);
    RefusalCounts counts;
    counts.add(Refusal::BadMac);
    counts.add(Refusal::BadMac);
    counts.add(Refusal::Stale);
    CHECK(counts.of(Refusal::BadMac) == 2);
    CHECK(counts.total() == 3);
}
