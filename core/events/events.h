// The one place the daemon's events are emitted (the loop thread, and the
// service thread for its own delivery failures).
//
//   events.emit(make(Kind::PeerRemoved, "removed peer 192.0.2.7; ..."));
//
// Every event first goes to the observers, as it happens: the metrics, the
// state store behind `status`, the round's record (round.h). Then what an
// operator hears (the log, notifications) goes through Persistence, so a
// failure repeated every round is told when it starts, summarised while it
// lasts and told when it ends. The loop says when a thing works again
// (resolve...), which is how a persistent error ends.
//
// Extension point: a new consumer is a Sink
// added with observe() (sees everything) or publish_to() (sees what people
// hear); a new event is a Kind with its catalogue() row (event.cpp) and its
// README line, emitted with emit().
#pragma once

#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "events/event.h"
#include "events/persistence.h"

namespace adf::events {

class Sink {
   public:
    virtual ~Sink() = default;
    // Called on the emitting thread with the Events lock held: be quick,
    // never block, never emit.
    virtual void on_event(const Event &event) = 0;
};

class Events {
   public:
    explicit Events(double summary_interval = 600) : persistence_(summary_interval) {}

    // Sees every event as it happens (repeats of persistent errors too).
    void observe(Sink *sink);
    // Sees the events published to people (after Persistence), as the log does.
    void publish_to(Sink *sink);
    void remove(Sink *sink);
    void set_summary_interval(double seconds);

    // Stamps the event (when its time is unset) and hands it on.
    void emit(Event event);

    // `kind` of this thing works again (a read, an add, a self-check...).
    void resolve(Kind kind, const std::string &fqdn = "", int family = 0,
                 const std::string &peer = "");
    // The peer passed its check: every persistent error about it ended.
    void resolve_peer(const std::string &fqdn, int family, const std::string &peer);
    // Peers of this set that are no longer in it (removed, gone): their
    // errors are dropped without a "resolved" event.
    void forget_peers_except(const std::string &fqdn, int family,
                             const std::set<std::string> &still_listed);

   private:
    void publish(const Event &event);
    void publish_all(const std::vector<Event> &events);

    std::recursive_mutex mutex_;
    Persistence persistence_;
    std::vector<Sink *> observers_;
    std::vector<Sink *> publishers_;
};

}  // namespace adf::events
