// What a notification says, as pure functions of the event: the e-mail
// (subject in the 2012 original's form, a body an operator understands at
// 3 a.m.) and the webhook's JSON payload (schema autodnsfailover.event.v1,
// README "Webhooks"), with a Slack-compatible "text".
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "events/event.h"

namespace adf::notify {

// One message to deliver: an event, or a summary of repeats of one event
// about one thing that the coalescer held back (coalesce.h).
struct Notification {
    events::Event event;
    size_t repeats = 0;         // > 0: a summary of this many repeats since `first_repeat`
    double first_repeat = 0;    // wall clock
    std::string host;           // the host that speaks ("web1")
    std::vector<std::string> fqdns;  // the daemon's names, for events about none in particular
};

// "autodnsfailover@web1 - notification about www.example.com"
std::string email_subject(const Notification &n);
// The body: what happened, to which address, why, what the daemon does,
// the set before and after, when, and the log line.
std::string email_body(const Notification &n);
// The whole RFC 5322 message (CRLF line ends), as SMTP's DATA sends it.
std::string email_message(const Notification &n, const std::string &from,
                          const std::vector<std::string> &to, double wall_now);

constexpr const char *kWebhookSchema = "autodnsfailover.event.v1";
nlohmann::json webhook_payload(const Notification &n);
// The one-line text a Slack incoming webhook shows ("text" in the payload).
std::string chat_text(const Notification &n);

}  // namespace adf::notify
