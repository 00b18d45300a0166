// What the peer protocol's unit tests share: a fixed key, messages to start
// from, and hex for byte-exact comparisons.
#pragma once

#include <string>
#include <string_view>

#include "net/address.h"
#include "peer/wire.h"

namespace peer_test {

// The bytes 0..31: the key of the specification's examples.
inline adf::peer::Key test_key() {
    std::string bytes;
    for (int i = 0; i < 32; ++i) bytes += static_cast<char>(i);
    return adf::peer::Key{bytes};
}

inline adf::peer::Keys test_keys() { return adf::peer::Keys{test_key(), std::nullopt}; }

inline adf::Address address(std::string_view text) { return *adf::parse_address(text); }

inline std::string hex(std::string_view bytes) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (char c : bytes) {
        out += digits[static_cast<unsigned char>(c) >> 4];
        out += digits[static_cast<unsigned char>(c) & 15];
    }
    return out;
}

inline adf::peer::Nonce counting_nonce() {
    adf::peer::Nonce nonce{};
    for (size_t i = 0; i < nonce.size(); ++i) nonce[i] = static_cast<uint8_t>(i);
    return nonce;
}

// The specification's example question: 192.0.2.10 for www.example.com.
inline adf::peer::Message example_question() {
    adf::peer::Message m;
    m.sent_at_ms = 1700000000123;
    m.nonce = counting_nonce();
    m.body = adf::peer::Question{address("192.0.2.10"), "www.example.com", 1500, 2000};
    return m;
}

// The specification's example answer to it: dead, from 2001:db8::7.
inline adf::peer::Message example_answer() {
    adf::peer::Message m;
    m.sent_at_ms = 1700000000456;
    m.nonce = counting_nonce();
    m.body = adf::peer::Answer{address("192.0.2.10"), adf::peer::Verdict::Dead, 250,
                               address("2001:db8::7"), "connection refused"};
    return m;
}

}  // namespace peer_test
