#include "peer/replay.h"

#include <cstring>

namespace adf::peer {
namespace {

uint64_t random_salt() {
    const Nonce bytes = random_nonce();
    uint64_t salt = 0;
    std::memcpy(&salt, bytes.data(), sizeof salt);
    return salt;
}

}  // namespace

ReplayCache::ReplayCache(size_t capacity) : capacity_(capacity), nonces_(0, Hash{random_salt()}) {}

size_t ReplayCache::Hash::operator()(const Nonce &nonce) const {
    uint64_t low = 0;
    uint64_t high = 0;
    std::memcpy(&low, nonce.data(), sizeof low);
    std::memcpy(&high, nonce.data() + sizeof low, sizeof high);
    return std::hash<uint64_t>{}(low ^ salt) ^ std::hash<uint64_t>{}(high + salt * 31);
}

void ReplayCache::forget_expired(uint64_t now_ms) {
    while (!by_expiry_.empty() && by_expiry_.top().first < now_ms) {
        nonces_.erase(by_expiry_.top().second);
        by_expiry_.pop();
    }
}

Refusal ReplayCache::admit(const Nonce &nonce, uint64_t expires_ms, uint64_t now_ms) {
    forget_expired(now_ms);
    if (nonces_.count(nonce) != 0) return Refusal::Replayed;
    if (nonces_.size() >= capacity_) return Refusal::ReplayCacheFull;
    nonces_.insert(nonce);
    by_expiry_.emplace(expires_ms, nonce);
    return Refusal::None;
}

}  // namespace adf::peer
