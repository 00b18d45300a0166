// What one round did, gathered from its events (an events::Sink that sees
// every event), and the decisions made from it without any I/O: the round's
// summary line, the heartbeat when nothing changed for a while, and the exit
// code of `run --once`.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

#include "events/events.h"

namespace adf::loop {

class RoundRecord : public events::Sink {
   public:
    // A new round starts (its number counts from 1).
    void begin(unsigned long long number);
    void on_event(const events::Event &event) override;

    // Checks of peers this round (the loop counts them: alive peers make no event).
    void add_checks(size_t checked, size_t dead, size_t not_judged);
    // One record set as the round left it ("www.example.test A: 3 records").
    void add_set(const std::string &fqdn, int family, size_t records);

    // The round added or removed a record (or would have, in a dry run).
    bool changed() const { return !changes_.empty(); }
    // What the round changed, one clause per change ("removed 192.0.2.7
    // from www.example.test A").
    const std::vector<std::string> &changes() const { return changes_; }
    // run --once: 0 the round did its job; 3 (kExitTransient) a read or a
    // write failed, the own address was unknown or the self-check could not
    // be made; 4 (kExitConflict) a write conflicted and was not settled.
    int exit_code() const;

    // The one INFO line of a round that changed something.
    events::Event summary(double seconds) const;
    // The sets and checks of the last round ("www.example.test A: 3 records; 2 checks, 0 dead").
    std::string state_line() const;
    unsigned long long number() const { return number_; }

   private:
    unsigned long long number_ = 0;
    std::vector<std::string> changes_;
    std::vector<std::string> sets_;
    size_t checked_ = 0, dead_ = 0, not_judged_ = 0;
    bool failed_ = false;      // a read or write failed
    bool conflicted_ = false;  // a write conflicted (and was not settled)
};

// One heartbeat line every `interval` seconds while rounds change nothing,
// so that silence in the log means trouble. 0 turns it off.
class Heartbeat {
   public:
    explicit Heartbeat(double interval = 600) : interval_(interval) {}
    void set_interval(double seconds) { interval_ = seconds; }
    // After each round at monotonic `now`: the heartbeat event when one is
    // due (no summary or heartbeat for `interval`), else nothing.
    std::optional<events::Event> after_round(const RoundRecord &round, double now);

   private:
    double interval_;
    double last_ = -1;     // the last summary or heartbeat (monotonic); -1: none yet
    unsigned long long rounds_ = 0;  // rounds since then
};

}  // namespace adf::loop
