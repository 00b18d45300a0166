// Delivery of notifications: the loop thread's events::Sink (Notifier) hands
// each event that a target takes to the Delivery, a Participant of the
// service thread, which coalesces repeats (coalesce.h), sends mail over SMTP
// and webhooks over HTTP(S) with libcurl's multi interface (every transfer
// at once, none blocking another or the thread), retries with exponential
// backoff and jitter, and gives up after `attempts`. Bounded everywhere: at
// most notify.queue_size messages wait (the oldest is dropped and counted),
// at most 8 transfers run at once, each within its target's timeout. A
// receiver that is down or hangs costs a log line (persistent: when it
// starts, summarised, when it ends) and the notification metrics; the loop
// thread never waits for it.
#pragma once

#include <atomic>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "config/config.h"
#include "events/events.h"
#include "notify/coalesce.h"
#include "notify/message.h"
#include "service/reactor.h"

namespace adf::metrics {
class Metrics;
}

namespace adf::notify {

// Whether `filter` takes `event` (its level, or for error_ongoing and
// error_resolved the level of the error they are about; its name, or the
// name of the error they are about).
bool accepts(const config::EventFilter &filter, const events::Event &event);

class Delivery : public service::Participant {
   public:
    // `events` and `metrics` outlive it; `reactor` runs it.
    Delivery(const config::Notify &config, std::vector<std::string> fqdns, events::Events &events,
             metrics::Metrics &metrics, service::Reactor &reactor);
    ~Delivery() override;
    Delivery(const Delivery &) = delete;
    Delivery &operator=(const Delivery &) = delete;

    // Any thread: queues an event for the targets that take it; never blocks.
    void submit(const events::Event &event);
    // Whether any target takes `event` (the loop thread's quick test).
    bool wanted(const events::Event &event) const;
    // Any thread: whether messages wait or are being sent (summaries a
    // coalescing window holds do not count).
    bool busy() const;
    // Any thread: new targets and settings (a reload); messages waiting keep
    // the targets they were made for.
    void reconfigure(const config::Notify &config, std::vector<std::string> fqdns);

    std::string name() const override { return "notify"; }
    void fds(std::vector<pollfd> &out) override;
    double deadline() override;
    void run(const std::vector<pollfd> &ready, double now) override;

   private:
    struct Job;
    struct Transfer;
    struct Settings {
        config::Notify notify;
        std::vector<std::shared_ptr<const config::EmailTarget>> email;
        std::vector<std::shared_ptr<const config::WebhookTarget>> webhooks;
        std::vector<std::string> fqdns;
        std::string host;
    };
    static int on_socket(void *easy, int fd, int what, void *self, void *socket_data);
    static int on_timer(void *multi, long timeout_ms, void *self);

    std::shared_ptr<const Settings> settings() const;
    void take_incoming(double now);
    static std::vector<std::unique_ptr<Job>> jobs_for(const events::Event &e, const Settings &s);
    void make_jobs(const Notification &n, const Settings &s);
    void enqueue(std::unique_ptr<Job> job);
    void start_transfers(double now);
    void finish_transfers(double now);
    void finished(Transfer &t, bool ok, const std::string &error, double now);
    void report_drops();

    events::Events &events_;
    metrics::Metrics &metrics_;
    service::Reactor &reactor_;
    mutable std::mutex mutex_;  // guards settings_ and incoming_
    std::shared_ptr<const Settings> settings_;
    std::deque<events::Event> incoming_;
    std::atomic<size_t> dropped_{0};
    std::atomic<size_t> outstanding_{0};  // waiting_ and running_, as the last turn left them

    // The service thread's own.
    Coalescer coalescer_;
    std::deque<std::unique_ptr<Job>> waiting_;
    std::vector<std::unique_ptr<Transfer>> running_;
    void *multi_ = nullptr;  // CURLM
    std::map<int, short> sockets_;  // what libcurl wants to wait for
    double curl_deadline_;
    std::minstd_rand jitter_;
};

// The loop thread's side: an events::Sink that hands the published events
// a target takes to the Delivery.
class Notifier : public events::Sink {
   public:
    explicit Notifier(Delivery &delivery) : delivery_(delivery) {}
    void on_event(const events::Event &event) override;

   private:
    Delivery &delivery_;
};

}  // namespace adf::notify
