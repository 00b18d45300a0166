#include "loop/services.h"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "service/control_server.h"
#include "service/listeners.h"
#include "service/metrics_http.h"
#include "util/clock.h"
#include "util/text.h"

namespace adf::loop {

Services::Services(events::Events &events, metrics::Metrics &metrics, state::Store &store)
    : events_(events), metrics_(metrics), store_(store) {}

Services::~Services() {
    if (notifier_) events_.remove(notifier_.get());
    reactor_.stop();
}

std::string Services::answer(const std::string &request) const {
    if (request == "status" || request.empty())
        return state::to_json(store_.snapshot(), stamp_now()).dump(2, ' ', false,
                                                                  nlohmann::json::error_handler_t::replace) + "\n";
    return nlohmann::json{{"error", fmt::format("unknown request \"{}\" (this daemon answers "
                                                "\"status\")", text::printable(request))}}
               .dump() + "\n";
}

void Services::set_participant(const std::string &name,
                               std::unique_ptr<service::Participant> participant) {
    reactor_.replace(name, std::move(participant));
}

void Services::apply(const config::Config &config) {
    // Open everything new first, so that one failure changes nothing.
    std::unique_ptr<service::Participant> metrics_http, control;
    const bool metrics_changed = !(config.metrics.listen == metrics_listen_);
    if (metrics_changed && config.metrics.listen) {
        auto fd = service::listen_tcp(*config.metrics.listen);
        if (!fd) throw config::ConfigError(fmt::format("{}: metrics.listen: {}", config.source, fd.reason()));
        metrics_http = std::make_unique<service::MetricsHttp>(
            std::move(*fd), config.metrics.listen->text(), [this] { return metrics_.exposition(); });
    }
    const bool control_changed = config.control.socket != control_path_;
    std::string control_path = config.control.socket;
    if (control_changed && !control_path.empty()) {
        auto fd = service::listen_unix(control_path);
        if (fd) {
            control = std::make_unique<service::ControlServer>(
                std::move(*fd), control_path, [this](const std::string &r) { return answer(r); });
        } else if (config.control.configured) {
            throw config::ConfigError(fmt::format("{}: control.socket: {}", config.source, fd.reason()));
        } else {
            log::warning(fmt::format("no control socket, so `autodnsfailover status` cannot ask "
                                     "this daemon: {} (the systemd unit creates "
                                     "/run/autodnsfailover; elsewhere set control.socket)",
                                     fd.reason()),
                         {"", "", "", "", "control_socket_unavailable"});
            control_path.clear();
        }
    }
    // Commit.
    if (metrics_changed) {
        metrics_listen_ = config.metrics.listen;
        reactor_.replace("metrics", std::move(metrics_http));
        if (metrics_listen_)
            log::info(fmt::format("serving metrics on http://{}/metrics", metrics_listen_->text()),
                      {"", "", "", "", "metrics_listening"});
    }
    if (control_changed) {
        // The old server unlinks its path when it goes: only when the path
        // changed, or it would take the new socket's file with it.
        control_path_ = control_path;
        reactor_.replace("control", std::move(control));
        if (!control_path_.empty())
            log::info(fmt::format("answering `status` on {}", control_path_),
                      {"", "", "", "", "control_listening"});
    }
    textfile_ = config.metrics.textfile;
    // Subjects and payloads name this host as the config does ("hostname").
    config::Notify notify = config.notify;
    if (notify.host.empty()) notify.host = config.hostname;
    if (delivery_ == nullptr) {
        auto delivery = std::make_unique<notify::Delivery>(notify, config.fqdns, events_,
                                                           metrics_, reactor_);
        delivery_ = delivery.get();
        notifier_ = std::make_unique<notify::Notifier>(*delivery_);
        events_.publish_to(notifier_.get());
        reactor_.replace("notify", std::move(delivery));
    } else {
        delivery_->reconfigure(notify, config.fqdns);
    }
    reactor_.start();
}

void Services::after_round() {
    if (textfile_.empty()) return;
    reactor_.post([this, path = textfile_, body = metrics_.exposition()] {
        write_textfile(path, body);
    });
}

void Services::drain(double seconds) {
    const double deadline = monotonic_now() + seconds;
    // The textfile task goes first: a posted task runs before the next turn.
    std::atomic<bool> flushed{textfile_.empty()};
    if (!flushed) reactor_.post([&flushed] { flushed = true; });
    while (monotonic_now() < deadline && (!flushed || (delivery_ != nullptr && delivery_->busy())))
        usleep(20 * 1000);
}

// node_exporter may read the file at any moment: write a temporary file in
// the same directory and rename it over the old one.
void Services::write_textfile(const std::string &path, const std::string &body) {
    const std::string temporary = path + ".tmp";
    std::string error;
    const int fd = open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        error = fmt::format("cannot create {}: {}", temporary, std::strerror(errno));
    } else {
        const ssize_t written = write(fd, body.data(), body.size());
        if (written != static_cast<ssize_t>(body.size()))
            error = fmt::format("cannot write {}: {}", temporary,
                                written < 0 ? std::strerror(errno) : "short write");
        close(fd);
        if (error.empty() && std::rename(temporary.c_str(), path.c_str()) != 0)
            error = fmt::format("cannot rename {} to {}: {}", temporary, path, std::strerror(errno));
        if (!error.empty()) unlink(temporary.c_str());
    }
    // Told once when it starts failing, and once when it works again.
    if (error == textfile_error_) return;
    if (error.empty())
        log::info(fmt::format("metrics.textfile {} is written again", path),
                  {"", "", "", "", "textfile_written"});
    else
        log::warning(fmt::format("metrics.textfile: {}", error), {"", "", "", "", "textfile_failed"});
    textfile_error_ = error;
}

}  // namespace adf::loop
