#include "notify/message.h"

#include <time.h>
#include <unistd.h>

#include <fmt/format.h>

#include "net/address.h"
#include "util/clock.h"

namespace adf::notify {
namespace {

using events::Kind;

std::string about(const Notification &n) {
    if (!n.event.fqdn.empty()) return n.event.fqdn;
    return n.fqdns.empty() ? std::string("(no name)") : fmt::format("{}", fmt::join(n.fqdns, ", "));
}

std::string listed(const std::vector<std::string> &set) {
    return set.empty() ? std::string("(empty)") : fmt::format("{}", fmt::join(set, ", "));
}

// The kind the notification is about: a summary's own, or the error's.
Kind subject_kind(const events::Event &e) { return e.about ? *e.about : e.kind; }

std::string headline(const Notification &n) {
    const events::Event &e = n.event;
    std::string line = e.message;
    if (n.repeats > 0)
        line = fmt::format("{} more time{} since {}: {}", n.repeats, n.repeats == 1 ? "" : "s",
                           iso_utc(n.first_repeat), e.message);
    return line;
}

// RFC 5322 date: "Wed, 25 Nov 2026 18:33:13 +0000".
std::string mail_date(double wall) {
    const auto seconds = static_cast<time_t>(wall);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[64];
    strftime(text, sizeof text, "%a, %d %b %Y %H:%M:%S +0000", &utc);
    return text;
}

// Header values are ours or the config's, but a peer's reason may carry
// anything: one line, no control characters.
std::string header_safe(const std::string &value) {
    std::string out;
    for (char c : value) out += static_cast<unsigned char>(c) < 0x20 ? ' ' : c;
    return out;
}

// Body lines: CRLF ends, and a leading "." doubled is SMTP's business
// (libcurl does it); long lines stay as they are (quoted-printable would
// hide the text from `grep`, and 998 bytes is far off for these lines).
std::string crlf(const std::string &text) {
    std::string out;
    for (char c : text) {
        if (c == '\n') out += '\r';
        out += c;
    }
    return out;
}

}  // namespace

std::string email_subject(const Notification &n) {
    return header_safe(fmt::format("autodnsfailover@{} - notification about {}", n.host, about(n)));
}

std::string email_body(const Notification &n) {
    const events::Event &e = n.event;
    const auto &kind = events::info(subject_kind(e));
    std::string body = fmt::format("{}\n\n", headline(n));
    const auto row = [&](const char *label, const std::string &value) {
        if (!value.empty()) body += fmt::format("{:<14}{}\n", label, value);
    };
    row("What:", fmt::format("{} ({})", kind.summary, events::name(e.kind)));
    row("Level:", log::level_name(e.level));
    row("Name:", e.fqdn.empty() ? "" : fmt::format("{} {}", e.fqdn, record_type(e.family)));
    row("Address:", e.peer);
    row("Why:", e.reason);
    if (e.refusal != events::Refusal::None) row("Safeguard:", events::refusal_name(e.refusal));
    row("What it does:", kind.action);
    if (e.set_before) row("Set before:", listed(*e.set_before));
    if (e.set_after) row("Set after:", listed(*e.set_after));
    if (e.about)
        row("Lasting:", fmt::format("{} ({} times, since {})", human_duration(e.lasted), e.repeats,
                                    iso_utc(e.since_wall)));
    row("When:", iso_utc(e.time.wall));
    row("Host:", fmt::format("{} (autodnsfailover {})", n.host, ADF_VERSION));
    if (n.repeats > 0)
        body += fmt::format("\nThis summarises {} repeats of the same event since {}; the log "
                            "has each of them.\n",
                            n.repeats, iso_utc(n.first_repeat));
    return body;
}

std::string email_message(const Notification &n, const std::string &from,
                          const std::vector<std::string> &to, double wall_now) {
    std::string headers = fmt::format("Date: {}\nFrom: {}\nTo: {}\nSubject: {}\n", mail_date(wall_now),
                                      from, fmt::join(to, ", "), email_subject(n));
    headers += fmt::format("Message-ID: <{:.6f}.{}.autodnsfailover@{}>\n", wall_now, getpid(),
                           header_safe(n.host));
    headers += fmt::format("X-Autodnsfailover-Event: {}\n", events::name(n.event.kind));
    headers += "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
               "Content-Transfer-Encoding: 8bit\n\n";
    return crlf(headers + email_body(n));
}

std::string chat_text(const Notification &n) {
    const events::Event &e = n.event;
    const char *mark = e.level >= log::Level::Error ? ":red_circle:"
                       : e.level >= log::Level::Warning ? ":warning:"
                                                        : ":information_source:";
    std::string text = fmt::format("{} *autodnsfailover@{}* {}: {}", mark, n.host,
                                   events::name(e.kind), headline(n));
    if (e.set_after) text += fmt::format(" (set now: {})", listed(*e.set_after));
    return text;
}

nlohmann::json webhook_payload(const Notification &n) {
    const events::Event &e = n.event;
    const auto optional_set = [](const std::optional<std::vector<std::string>> &set) {
        return set ? nlohmann::json(*set) : nlohmann::json(nullptr);
    };
    nlohmann::json payload = {
        {"schema", kWebhookSchema},
        {"event", events::name(e.kind)},
        {"level", log::level_name(e.level)},
        {"time", iso_utc(e.time.wall)},
        {"host", n.host},
        {"fqdn", e.fqdn.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.fqdn)},
        {"family", e.family == 0 ? nlohmann::json(nullptr) : nlohmann::json(e.family)},
        {"type", e.family == 0 ? nlohmann::json(nullptr) : nlohmann::json(record_type(e.family))},
        {"peer", e.peer.empty() ? nlohmann::json(nullptr) : nlohmann::json(e.peer)},
        {"reason", e.reason},
        {"message", e.message},
        {"action", events::info(subject_kind(e)).action},
        {"refusal", e.refusal == events::Refusal::None ? nlohmann::json(nullptr)
                                                       : nlohmann::json(events::refusal_name(e.refusal))},
        {"set_before", optional_set(e.set_before)},
        {"set_after", optional_set(e.set_after)},
        {"about", e.about ? nlohmann::json(events::name(*e.about)) : nlohmann::json(nullptr)},
        {"lasted_seconds", e.about ? nlohmann::json(e.lasted) : nlohmann::json(nullptr)},
        {"repeats", n.repeats},
        {"text", chat_text(n)},
    };
    return payload;
}

}  // namespace adf::notify
