#include "isolation/protocol.h"

#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

namespace adf::isolation::protocol {
namespace {

using json = nlohmann::json;

// Fixed-size records: both ends are one build, so the layout is shared; the
// explicit offsets keep it free of padding surprises.
constexpr size_t kRequestSize = 8 + 8 + 1 + 16;  // id, timeout, family, bytes
constexpr size_t kReplyHeader = 8 + 1 + 2;       // id, outcome, reason length

template <class T>
void put(std::string &out, const T &value) {
    out.append(reinterpret_cast<const char *>(&value), sizeof value);
}

template <class T>
T get(const char *at) {
    T value;
    std::memcpy(&value, at, sizeof value);
    return value;
}

std::optional<json> tagged_json(const std::string &message, Tag tag, std::string &error) {
    if (message.empty() || message[0] != tag) {
        error = "unexpected message";
        return std::nullopt;
    }
    json parsed = json::parse(message.begin() + 1, message.end(), nullptr, false);
    if (parsed.is_discarded() || !parsed.is_object()) {
        error = "malformed message";
        return std::nullopt;
    }
    return parsed;
}

}  // namespace

std::string encode_setup(const Setup &setup) {
    const json body = {
        {"version", setup.version},
        {"slot", setup.section.slot},
        {"plugin", setup.section.plugin},
        {"settings", setup.section.settings},
        {"plugin_dirs", setup.plugin_dirs},
        {"logging",
         {{"level", static_cast<int>(setup.logging.level)},
          {"format", static_cast<int>(setup.logging.format)},
          {"target", static_cast<int>(setup.logging.target)},
          {"identity", setup.logging.syslog_identity}}}};
    return std::string(1, kSetup) + body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Setup> decode_setup(const std::string &message, std::string &error) {
    const auto body = tagged_json(message, kSetup, error);
    if (!body) return std::nullopt;
    try {
        Setup setup;
        setup.version = body->at("version").get<std::string>();
        setup.section.slot = body->at("slot").get<std::string>();
        setup.section.plugin = body->at("plugin").get<std::string>();
        setup.section.settings = body->at("settings");
        setup.plugin_dirs = body->at("plugin_dirs").get<std::vector<std::string>>();
        const json &logging = body->at("logging");
        setup.logging.level = static_cast<log::Level>(logging.at("level").get<int>());
        setup.logging.format = static_cast<log::Format>(logging.at("format").get<int>());
        setup.logging.target = static_cast<log::Target>(logging.at("target").get<int>());
        setup.logging.syslog_identity = logging.at("identity").get<std::string>();
        return setup;
    } catch (const json::exception &e) {
        error = std::string("malformed setup: ") + e.what();
        return std::nullopt;
    }
}

std::string encode_ready(const Ready &ready) {
    const json body = ready.ok ? json{{"ok", true}, {"name", ready.name}, {"capacity", ready.capacity}}
                               : json{{"ok", false}, {"error", ready.error}};
    return std::string(1, kReady) + body.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::optional<Ready> decode_ready(const std::string &message, std::string &error) {
    const auto body = tagged_json(message, kReady, error);
    if (!body) return std::nullopt;
    try {
        Ready ready;
        ready.ok = body->at("ok").get<bool>();
        if (ready.ok) {
            ready.name = body->at("name").get<std::string>();
            ready.capacity = body->at("capacity").get<unsigned>();
        } else {
            ready.error = body->at("error").get<std::string>();
        }
        return ready;
    } catch (const json::exception &e) {
        error = std::string("malformed answer: ") + e.what();
        return std::nullopt;
    }
}

std::string encode_checks(const std::vector<Request> &requests) {
    std::string out(1, kChecks);
    out.reserve(1 + requests.size() * kRequestSize);
    for (const Request &r : requests) {
        put(out, r.id);
        put(out, r.timeout);
        put(out, static_cast<uint8_t>(r.address.family));
        out.append(reinterpret_cast<const char *>(r.address.bytes.data()), r.address.bytes.size());
    }
    return out;
}

std::optional<std::vector<Request>> decode_checks(const std::string &message) {
    if (message.empty() || message[0] != kChecks || (message.size() - 1) % kRequestSize != 0)
        return std::nullopt;
    std::vector<Request> requests;
    for (size_t at = 1; at < message.size(); at += kRequestSize) {
        Request r;
        const char *p = message.data() + at;
        r.id = get<uint64_t>(p);
        r.timeout = get<double>(p + 8);
        r.address.family = get<uint8_t>(p + 16);
        if (r.address.family != 4 && r.address.family != 6) return std::nullopt;
        std::memcpy(r.address.bytes.data(), p + 17, r.address.bytes.size());
        requests.push_back(r);
    }
    return requests;
}

size_t reply_size(size_t reason_bytes) {
    return kReplyHeader + std::min(reason_bytes, kReasonMax);
}

std::string encode_replies(const std::vector<Reply> &replies) {
    std::string out(1, kVerdicts);
    for (const Reply &r : replies) {
        const uint16_t length = static_cast<uint16_t>(std::min(r.reason.size(), kReasonMax));
        put(out, r.id);
        put(out, static_cast<uint8_t>(r.outcome));
        put(out, length);
        out.append(r.reason, 0, length);
    }
    return out;
}

std::optional<std::vector<Reply>> decode_replies(const std::string &message) {
    if (message.empty() || message[0] != kVerdicts) return std::nullopt;
    std::vector<Reply> replies;
    for (size_t at = 1; at < message.size();) {
        if (message.size() - at < kReplyHeader) return std::nullopt;
        const char *p = message.data() + at;
        Reply r;
        r.id = get<uint64_t>(p);
        const auto outcome = get<uint8_t>(p + 8);
        if (outcome > static_cast<uint8_t>(Outcome::HostFault)) return std::nullopt;
        r.outcome = static_cast<Outcome>(outcome);
        const auto length = get<uint16_t>(p + 9);
        if (message.size() - at - kReplyHeader < length) return std::nullopt;
        r.reason.assign(p + kReplyHeader, length);
        replies.push_back(std::move(r));
        at += kReplyHeader + length;
    }
    return replies;
}

std::string encode_cancel() { return std::string(1, kCancel); }

bool send_message(int fd, const std::string &message) {
    for (;;) {
        if (send(fd, message.data(), message.size(), MSG_NOSIGNAL) >= 0) return true;
        if (errno != EINTR) return false;
    }
}

void Outbox::push(std::string message) { queue_.push_back(std::move(message)); }

bool Outbox::flush(int fd) {
    while (!queue_.empty()) {
        const std::string &message = queue_.front();
        if (send(fd, message.data(), message.size(), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
            if (errno == EINTR) continue;
            return errno == EAGAIN;
        }
        queue_.pop_front();
    }
    return true;
}

int receive_message(int fd, std::string &message, size_t max) {
    // One buffer, zero-filled once: the helper forks between receives, and
    // every page it writes afterwards costs a copy-on-write fault.
    static std::vector<char> buffer;
    if (buffer.size() < max) buffer.resize(max);
    for (;;) {
        const ssize_t n = recv(fd, buffer.data(), max, MSG_TRUNC);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        if (n == 0) return 0;
        if (static_cast<size_t>(n) > max) {
            errno = EMSGSIZE;
            return -1;
        }
        message.assign(buffer.data(), static_cast<size_t>(n));
        return 1;
    }
}

}  // namespace adf::isolation::protocol
