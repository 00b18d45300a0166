// The daemon's metrics, in Prometheus' model (prometheus-cpp core: the
// metric families and the text exposition format). Counters come from the
// events (every event, repeats included: an events::Sink observing all),
// from the loop's round and check counts, and from the notification worker;
// gauges of peers and records from the state store after each round. Every
// method is thread-safe (prometheus-cpp's metrics are), so the loop writes
// and the service thread serialises without a lock of ours.
//
// README "Metrics" lists every name; names and labels follow Prometheus'
// conventions: the autodnsfailover_ prefix, _total counters, base units.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>

#include "events/events.h"
#include "state/store.h"

namespace prometheus {
class Registry;
class Counter;
class Gauge;
class Histogram;
template <typename T>
class Family;
}  // namespace prometheus

namespace adf::metrics {

class Metrics : public events::Sink {
   public:
    Metrics();
    ~Metrics() override;
    Metrics(const Metrics &) = delete;
    Metrics &operator=(const Metrics &) = delete;

    void on_event(const events::Event &event) override;
    // A round ended at `end`, taking `seconds`; `good`: it did its whole job.
    void round_done(double seconds, bool good, Stamp end);
    void count_checks(const std::string &plugin, size_t alive, size_t dead, size_t not_judged);
    // Peers by verdict and records, per name and family, as the store holds them.
    void update_sets(const state::Snapshot &snapshot);
    // A notification's fate on a channel ("email", "webhook"): "delivered",
    // "failed" (gave up), "dropped" (queue full), "coalesced" (summed up
    // into a later summary); and each failed attempt.
    void notification(const std::string &channel, const std::string &result);
    void notification_attempt_failed(const std::string &channel);
    // A peer-protocol message refused (peer/refusal.h) by the `side` that
    // received it: "server" (questions) or "asker" (answers).
    void peer_message_refused(const std::string &side, const std::string &reason,
                              uint64_t count = 1);

    // The text exposition format (version 0.0.4).
    std::string exposition() const;

   private:
    std::shared_ptr<prometheus::Registry> registry_;
    prometheus::Family<prometheus::Counter> *rounds_;
    prometheus::Histogram *round_duration_;
    prometheus::Gauge *last_round_;
    prometheus::Gauge *last_good_round_;
    prometheus::Family<prometheus::Counter> *checks_;
    prometheus::Family<prometheus::Gauge> *peers_;
    prometheus::Family<prometheus::Gauge> *records_;
    prometheus::Family<prometheus::Counter> *removals_;
    prometheus::Family<prometheus::Counter> *additions_;
    prometheus::Family<prometheus::Counter> *refused_;
    prometheus::Family<prometheus::Counter> *conflicts_;
    prometheus::Family<prometheus::Counter> *provider_errors_;
    prometheus::Family<prometheus::Counter> *self_check_failures_;
    prometheus::Family<prometheus::Counter> *events_;
    prometheus::Family<prometheus::Counter> *notifications_;
    prometheus::Family<prometheus::Counter> *notification_attempt_failures_;
    prometheus::Family<prometheus::Counter> *peer_refused_;
    prometheus::Family<prometheus::Counter> *peer_decisions_;
    // The gauges of each set, so that a set a reload dropped stops being exposed.
    std::mutex sets_mutex_;
    std::map<std::pair<std::string, int>, std::map<std::string, prometheus::Gauge *>> set_gauges_;
};

}  // namespace adf::metrics
