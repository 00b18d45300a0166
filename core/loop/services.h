// What the daemon runs beside its loop, wired together: the service thread
// (service/reactor.h) with the metrics listener, the control socket and the
// notification delivery, and the node_exporter textfile. The loop thread
// calls apply() at start and at each reload, and after_round() after each
// round; neither waits for the service thread.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "config/config.h"
#include "events/events.h"
#include "metrics/metrics.h"
#include "notify/delivery.h"
#include "service/reactor.h"
#include "state/store.h"

namespace adf::loop {

class Services {
   public:
    Services(events::Events &events, metrics::Metrics &metrics, state::Store &store);
    ~Services();  // stops the service thread

    // Opens the listeners `config` names that are not open yet and closes
    // those it no longer names; hands the notification settings over.
    // Throws config::ConfigError, changing nothing, when a listener the
    // config names cannot be opened (at start: exit 2; at reload: the
    // reload is refused). The default control socket that cannot be opened
    // (no /run/autodnsfailover outside systemd) is only a warning.
    void apply(const config::Config &config);
    // After each round: the textfile, when one is configured.
    void after_round();
    // Before the daemon exits: gives the notifications waiting or in flight
    // (the failed self-check's, say) and the last textfile up to `seconds`
    // to go out.
    void drain(double seconds);

    // Runs `participant` on the service thread under `name` (null: stops
    // the one of that name): a listener owned elsewhere (the peer server).
    void set_participant(const std::string &name, std::unique_ptr<service::Participant> participant);

    // The status the control socket answers ("status"; unknown requests get
    // an error object).
    std::string answer(const std::string &request) const;

   private:
    void write_textfile(const std::string &path, const std::string &body);

    events::Events &events_;
    metrics::Metrics &metrics_;
    state::Store &store_;
    service::Reactor reactor_;
    notify::Delivery *delivery_ = nullptr;  // owned by reactor_
    std::unique_ptr<notify::Notifier> notifier_;
    std::optional<dnsread::Server> metrics_listen_;
    std::string control_path_;
    std::string textfile_;
    std::string textfile_error_;  // the service thread's: the last failure, logged once
};

}  // namespace adf::loop
