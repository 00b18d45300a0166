#include "events/events.h"

#include <algorithm>

#include <fmt/format.h>

namespace adf::events {

void Events::observe(Sink *sink) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    observers_.push_back(sink);
}

void Events::publish_to(Sink *sink) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    publishers_.push_back(sink);
}

void Events::remove(Sink *sink) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    for (auto *list : {&observers_, &publishers_})
        list->erase(std::remove(list->begin(), list->end(), sink), list->end());
}

void Events::set_summary_interval(double seconds) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    persistence_.set_summary_interval(seconds);
}

void Events::emit(Event event) {
    if (!event.time.is_set()) event.time = stamp_now();
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    for (Sink *sink : observers_) sink->on_event(event);
    const std::vector<Event> heard = persistence_.failure(event);
    if (persistence_.was_repeat()) {
        // Still in the debug log, for whoever follows one peer closely.
        log::write(log::Level::Debug, event.message + " (again; summarised while it lasts)",
                   log_fields(event));
        return;
    }
    publish_all(heard);
}

void Events::publish(const Event &event) {
    log::write(event.level, event.message, log_fields(event));
    for (Sink *sink : publishers_) sink->on_event(event);
}

void Events::publish_all(const std::vector<Event> &events) {
    for (const Event &event : events) {
        // An ongoing or resolved summary reaches the observers too (metrics
        // count them), but it was never a repeat of anything.
        if (event.kind == Kind::ErrorOngoing || event.kind == Kind::ErrorResolved)
            for (Sink *sink : observers_) sink->on_event(event);
        publish(event);
    }
}

void Events::resolve(Kind kind, const std::string &fqdn, int family, const std::string &peer) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    publish_all(persistence_.resolve(
        [&](const ErrorKey &key) {
            return key.kind == kind && key.fqdn == fqdn && key.family == family &&
                   key.peer == peer;
        },
        stamp_now()));
}

void Events::resolve_peer(const std::string &fqdn, int family, const std::string &peer) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    publish_all(persistence_.resolve(
        [&](const ErrorKey &key) {
            return !key.peer.empty() && key.fqdn == fqdn && key.family == family &&
                   key.peer == peer;
        },
        stamp_now()));
}

void Events::forget_peers_except(const std::string &fqdn, int family,
                                 const std::set<std::string> &still_listed) {
    std::lock_guard<std::recursive_mutex> lock(mutex_);
    persistence_.resolve(
        [&](const ErrorKey &key) {
            return !key.peer.empty() && key.fqdn == fqdn && key.family == family &&
                   still_listed.count(key.peer) == 0;
        },
        stamp_now(), /*announce=*/false);
}

}  // namespace adf::events
