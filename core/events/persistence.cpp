#include "events/persistence.h"

#include <fmt/format.h>

namespace adf::events {

std::optional<ErrorKey> persistent_key(const Event &e) {
    switch (e.kind) {
        case Kind::OwnAddressFailed:
        case Kind::SelfCheckNotMade:
        case Kind::SelfAddFailed:
        case Kind::ReadFailed:
        case Kind::RoundLate:
        case Kind::SelfFenced:
            return ErrorKey{e.kind, e.fqdn, e.family, ""};
        case Kind::PeerCheckFailed:
        case Kind::PeerNotJudged:
        case Kind::RemovalRefused:
        case Kind::RemovalFailed:
        case Kind::WouldRemove:
            return ErrorKey{e.kind, e.fqdn, e.family, e.peer};
        case Kind::NotificationFailed:  // about a target, named in `plugin`
            return ErrorKey{e.kind, "", 0, e.plugin};
        default:
            return std::nullopt;
    }
}

std::vector<Event> Persistence::failure(const Event &event) {
    last_was_repeat_ = false;
    const auto key = persistent_key(event);
    if (!key) return {event};
    const auto found = active_.find(*key);
    if (found == active_.end()) {
        active_[*key] = Active{event, event, 1, event.time.monotonic};
        return {event};
    }
    Active &error = found->second;
    error.last = event;
    ++error.count;
    if (event.time.monotonic - error.last_summary < summary_interval_ || summary_interval_ <= 0) {
        last_was_repeat_ = true;
        return {};
    }
    error.last_summary = event.time.monotonic;
    return {ongoing(error)};
}

Event Persistence::ongoing(const Active &error) const {
    const Event &last = error.last;
    const double lasted = last.time.monotonic - error.first.time.monotonic;
    Event out = last;
    out.kind = Kind::ErrorOngoing;
    out.about = last.kind;
    out.about_level = last.level;
    out.repeats = error.count;
    out.since_wall = error.first.time.wall;
    out.lasted = lasted;
    out.message = fmt::format("still so for {} ({} times): {}", human_duration(lasted),
                              error.count, last.message);
    return out;
}

std::vector<Event> Persistence::resolve(const std::function<bool(const ErrorKey &)> &which,
                                        Stamp now, bool announce) {
    std::vector<Event> out;
    for (auto it = active_.begin(); it != active_.end();) {
        if (!which(it->first)) {
            ++it;
            continue;
        }
        if (announce) {
            const Active &error = it->second;
            Event resolved = make(Kind::ErrorResolved, "");
            resolved.time = now;
            resolved.fqdn = error.last.fqdn;
            resolved.family = error.last.family;
            resolved.peer = error.last.peer;
            resolved.plugin = error.last.plugin;
            resolved.reason = error.last.reason;
            resolved.about = error.first.kind;
            resolved.about_level = error.first.level;
            resolved.repeats = error.count;
            resolved.since_wall = error.first.time.wall;
            resolved.lasted = now.monotonic - error.first.time.monotonic;
            resolved.message = fmt::format("no longer so after {} ({} times): {}",
                                           human_duration(resolved.lasted), error.count,
                                           error.first.message);
            out.push_back(std::move(resolved));
        }
        it = active_.erase(it);
    }
    return out;
}

}  // namespace adf::events
