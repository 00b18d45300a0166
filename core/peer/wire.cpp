#include "peer/wire.h"

#include <cstring>
#include <stdexcept>

namespace adf::peer {
namespace {

// Bytes in network order, written one field after the other.
class Writer {
   public:
    void u8(uint8_t value) { out_.push_back(static_cast<char>(value)); }
    void u32(uint32_t value) {
        for (int shift = 24; shift >= 0; shift -= 8) u8(static_cast<uint8_t>(value >> shift));
    }
    void u64(uint64_t value) {
        for (int shift = 56; shift >= 0; shift -= 8) u8(static_cast<uint8_t>(value >> shift));
    }
    void bytes(const void *data, size_t size) {
        out_.append(static_cast<const char *>(data), size);
    }
    void address(const Address &address) {
        if (address.family != 4 && address.family != 6)
            throw std::invalid_argument("a peer message holds IPv4 or IPv6 addresses only");
        u8(static_cast<uint8_t>(address.family));
        const size_t used = address.family == 4 ? 4 : 16;
        bytes(address.bytes.data(), used);
        out_.append(16 - used, '\0');
    }
    void text(const std::string &text) {  // one length byte, then the bytes
        u8(static_cast<uint8_t>(text.size()));
        bytes(text.data(), text.size());
    }
    std::string take() { return std::move(out_); }

   private:
    std::string out_;
};

// Reads fields in network order; a read past the end marks it truncated and
// yields zeros, so the caller checks once at the end.
class Reader {
   public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    uint8_t u8() { return static_cast<uint8_t>(take(1) ? bytes_[pos_ - 1] : 0); }
    uint32_t u32() {
        uint32_t value = 0;
        for (int i = 0; i < 4; ++i) value = value << 8 | u8();
        return value;
    }
    uint64_t u64() {
        uint64_t value = 0;
        for (int i = 0; i < 8; ++i) value = value << 8 | u8();
        return value;
    }
    void bytes(void *out, size_t size) {
        if (take(size)) std::memcpy(out, bytes_.data() + pos_ - size, size);
    }
    // An address field; false when its family or padding is out of range.
    bool address(Address &out) {
        const uint8_t family = u8();
        std::array<uint8_t, 16> raw{};
        bytes(raw.data(), raw.size());
        if (family != 4 && family != 6) return false;
        out.family = family;
        out.bytes = raw;
        return family == 6 ||
               std::all_of(raw.begin() + 4, raw.end(), [](uint8_t b) { return b == 0; });
    }
    std::string text() {
        const size_t size = u8();
        if (!take(size)) return {};
        return std::string(bytes_.substr(pos_ - size, size));
    }
    bool truncated() const { return truncated_; }
    size_t position() const { return pos_; }

   private:
    bool take(size_t size) {
        if (truncated_ || bytes_.size() - pos_ < size) {
            truncated_ = true;
            return false;
        }
        pos_ += size;
        return true;
    }
    std::string_view bytes_;
    size_t pos_ = 0;
    bool truncated_ = false;
};

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool is_reason_char(char c) { return c >= 0x20 && c <= 0x7e; }

bool is_valid_reason(std::string_view reason) {
    return reason.size() <= kMaxReasonBytes &&
           std::all_of(reason.begin(), reason.end(), is_reason_char);
}

bool is_valid_verdict(uint8_t value) { return value >= 1 && value <= 6; }

// Unknown and NotTracked carry no verdict, hence no age.
bool has_age(Verdict verdict) { return is_opinion(verdict); }

void write_question(Writer &w, const Question &q) {
    if (!is_wire_fqdn(q.fqdn))
        throw std::invalid_argument("a peer question needs a lower-case host name");
    if (q.wait_ms > kMaxWaitMs) throw std::invalid_argument("a peer question waits too long");
    w.address(q.subject);
    w.u32(q.max_age_ms);
    w.u32(q.wait_ms);
    w.text(q.fqdn);
}

void write_answer(Writer &w, const Answer &a) {
    if (!is_valid_verdict(static_cast<uint8_t>(a.verdict)))
        throw std::invalid_argument("a peer answer needs a verdict");
    if (!has_age(a.verdict) && a.age_ms != 0)
        throw std::invalid_argument("a peer answer without a verdict has no age");
    if (!is_valid_reason(a.reason))
        throw std::invalid_argument("a peer answer's reason must come from wire_reason()");
    w.address(a.subject);
    w.u8(static_cast<uint8_t>(a.verdict));
    w.u32(a.age_ms);
    w.address(a.observer);
    w.text(a.reason);
}

Refusal read_question(Reader &r, Question &q) {
    bool ok = r.address(q.subject);
    q.max_age_ms = r.u32();
    q.wait_ms = r.u32();
    q.fqdn = r.text();
    if (r.truncated()) return Refusal::Truncated;
    ok = ok && q.wait_ms <= kMaxWaitMs && is_wire_fqdn(q.fqdn);
    return ok ? Refusal::None : Refusal::Malformed;
}

Refusal read_answer(Reader &r, Answer &a) {
    bool ok = r.address(a.subject);
    const uint8_t verdict = r.u8();
    a.verdict = static_cast<Verdict>(verdict);
    a.age_ms = r.u32();
    ok = r.address(a.observer) && ok;
    a.reason = r.text();
    if (r.truncated()) return Refusal::Truncated;
    ok = ok && is_valid_verdict(verdict) && (has_age(a.verdict) || a.age_ms == 0) &&
         is_valid_reason(a.reason);
    return ok ? Refusal::None : Refusal::Malformed;
}

}  // namespace

const char *verdict_name(Verdict verdict) {
    switch (verdict) {
        case Verdict::Alive: return "alive";
        case Verdict::Dead: return "dead";
        case Verdict::Recovering: return "recovering";
        case Verdict::Damped: return "damped";
        case Verdict::Unknown: return "unknown";
        case Verdict::NotTracked: return "not tracked";
    }
    return "invalid";
}

bool is_opinion(Verdict verdict) {
    return verdict == Verdict::Alive || verdict == Verdict::Dead ||
           verdict == Verdict::Recovering || verdict == Verdict::Damped;
}

bool wants_removed(Verdict verdict) {
    return verdict == Verdict::Dead || verdict == Verdict::Damped;
}

bool keeps_out(Verdict verdict) { return wants_removed(verdict) || verdict == Verdict::Recovering; }

bool is_wire_fqdn(std::string_view fqdn) {
    if (fqdn.empty() || fqdn.size() > kMaxFqdnBytes) return false;
    size_t label = 0;
    for (char c : fqdn) {
        if (c == '.') {
            if (label == 0) return false;
            label = 0;
        } else if (!is_label_char(c) || ++label > 63) {
            return false;
        }
    }
    return label > 0;
}

std::string wire_reason(std::string_view text) {
    std::string reason;
    const bool cut = text.size() > kMaxReasonBytes;
    const std::string_view kept = cut ? text.substr(0, kMaxReasonBytes - 3) : text;
    for (char c : kept) reason += is_reason_char(c) ? c : '?';
    if (cut) reason += "...";
    return reason;
}

std::string signed_part(const Message &message) {
    Writer w;
    w.bytes(kMagic.data(), kMagic.size());
    w.u8(kProtocolVersion);
    w.u8(static_cast<uint8_t>(message.kind()));
    w.u8(0);  // flags, two bytes: none in version 1
    w.u8(0);
    w.u64(message.sent_at_ms);
    w.bytes(message.nonce.data(), message.nonce.size());
    if (const auto *question = std::get_if<Question>(&message.body))
        write_question(w, *question);
    else
        write_answer(w, std::get<Answer>(message.body));
    return w.take();
}

std::string encode(const Message &message, const Key &key) {
    std::string bytes = signed_part(message);
    const Mac mac = mac_of(key, bytes);
    bytes.append(reinterpret_cast<const char *>(mac.data()), mac.size());
    return bytes;
}

Refusal parse(std::string_view bytes, Message &out) {
    if (bytes.size() > kMaxMessageBytes) return Refusal::Oversized;
    Reader r(bytes);
    std::array<char, 4> magic{};
    r.bytes(magic.data(), magic.size());
    if (r.truncated() || magic != kMagic)
        return r.truncated() ? Refusal::Truncated : Refusal::BadMagic;
    const uint8_t version = r.u8();
    if (r.truncated()) return Refusal::Truncated;
    if (version != kProtocolVersion) return Refusal::BadVersion;
    const uint8_t kind = r.u8();
    if (r.truncated()) return Refusal::Truncated;
    if (kind != static_cast<uint8_t>(Kind::Question) && kind != static_cast<uint8_t>(Kind::Answer))
        return Refusal::BadKind;
    const uint32_t flags = uint32_t{r.u8()} << 8 | r.u8();
    out.sent_at_ms = r.u64();
    r.bytes(out.nonce.data(), out.nonce.size());
    if (r.truncated()) return Refusal::Truncated;
    Refusal body = Refusal::None;
    if (kind == static_cast<uint8_t>(Kind::Question)) {
        out.body = Question{};
        body = read_question(r, std::get<Question>(out.body));
    } else {
        out.body = Answer{};
        body = read_answer(r, std::get<Answer>(out.body));
    }
    const size_t rest = bytes.size() - r.position();  // what is left for the MAC
    if (body == Refusal::Truncated || rest < kMacBytes) return Refusal::Truncated;
    if (rest > kMacBytes) return Refusal::TrailingBytes;
    if (body != Refusal::None || flags != 0) return Refusal::Malformed;
    return Refusal::None;
}

Refusal check_mac(std::string_view bytes, const Keys &keys, size_t &signed_by) {
    if (bytes.size() < kMacBytes) return Refusal::Truncated;
    const std::string_view covered = bytes.substr(0, bytes.size() - kMacBytes);
    const auto *received = reinterpret_cast<const uint8_t *>(bytes.data() + covered.size());
    if (same_mac(mac_of(keys.signing, covered).data(), received)) {
        signed_by = 0;
        return Refusal::None;
    }
    if (keys.also_accepted && same_mac(mac_of(*keys.also_accepted, covered).data(), received)) {
        signed_by = 1;
        return Refusal::None;
    }
    return Refusal::BadMac;
}

Refusal check_time(uint64_t sent_at_ms, uint64_t now_ms, uint64_t window_ms) {
    if (sent_at_ms < now_ms && now_ms - sent_at_ms > window_ms) return Refusal::Stale;
    if (sent_at_ms > now_ms && sent_at_ms - now_ms > window_ms) return Refusal::Future;
    return Refusal::None;
}

}  // namespace adf::peer
