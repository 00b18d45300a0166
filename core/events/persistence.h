// Persistent errors: the same failure of the same thing, round after round
// (a provider outage, a dead peer a safeguard keeps in DNS). Logged and
// notified when it starts, summarised every `summary_interval` while it
// lasts ("still failing for 10 min, 300 times"), and when it ends, instead
// of once per round. Pure: times come in with the events, nothing is written.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "events/event.h"

namespace adf::events {

// What a persistent error is about: its kind and the thing that fails.
struct ErrorKey {
    Kind kind = Kind::ReadFailed;
    std::string fqdn;
    int family = 0;
    std::string peer;
    bool operator<(const ErrorKey &o) const {
        return std::tie(kind, fqdn, family, peer) < std::tie(o.kind, o.fqdn, o.family, o.peer);
    }
};

// The key of a failure that can persist; nullopt for every other kind
// (those are published as they come).
std::optional<ErrorKey> persistent_key(const Event &event);

class Persistence {
   public:
    explicit Persistence(double summary_interval) : summary_interval_(summary_interval) {}
    void set_summary_interval(double seconds) { summary_interval_ = seconds; }

    // A failure happened. Returns what to publish: the event itself when it
    // starts a persistent error (or is of no persistent kind), an
    // error_ongoing summary when one is due, or nothing (a counted repeat).
    std::vector<Event> failure(const Event &event);
    // Whether the last failure() was a repeat published as nothing.
    bool was_repeat() const { return last_was_repeat_; }

    // The failures matching `which` ended: an error_resolved event for each
    // (`announce`), or silently (`!announce`: the thing is gone, e.g. a peer
    // removed from DNS, so it did not "recover").
    std::vector<Event> resolve(const std::function<bool(const ErrorKey &)> &which, Stamp now,
                               bool announce = true);

    size_t active() const { return active_.size(); }

   private:
    struct Active {
        Event first;
        Event last;
        size_t count = 0;
        double last_summary = 0;  // monotonic
    };
    Event ongoing(const Active &error) const;

    double summary_interval_;
    std::map<ErrorKey, Active> active_;
    bool last_was_repeat_ = false;
};

}  // namespace adf::events
