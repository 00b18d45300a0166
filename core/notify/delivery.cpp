#include "notify/delivery.h"

#include <curl/curl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "metrics/metrics.h"
#include "notify/signature.h"
#include "util/clock.h"
#include "util/text.h"

namespace adf::notify {
namespace {

using events::Kind;

constexpr size_t kMaxRunning = 8;       // transfers at once
constexpr size_t kMaxResponse = 1024;   // bytes of a refusal kept for the log

CURLM *as_multi(void *multi) { return static_cast<CURLM *>(multi); }

bool is_notification_kind(Kind kind) {
    return kind == Kind::NotificationFailed || kind == Kind::NotificationsDropped;
}

std::string local_host_name() {
    char name[256] = {};
    if (gethostname(name, sizeof name - 1) != 0 || name[0] == '\0') return "localhost";
    return name;
}

size_t discard_or_keep(char *data, size_t size, size_t count, void *out) {
    auto &kept = *static_cast<std::string *>(out);
    const size_t bytes = size * count;
    if (kept.size() < kMaxResponse) kept.append(data, std::min(bytes, kMaxResponse - kept.size()));
    return bytes;
}

}  // namespace

bool accepts(const config::EventFilter &filter, const events::Event &e) {
    const log::Level level = e.kind == Kind::ErrorResolved ? e.about_level : e.level;
    if (level < filter.level) return false;
    if (filter.events.empty()) return true;
    for (const auto &name : filter.events)
        if (name == events::name(e.kind) || (e.about && name == events::name(*e.about))) return true;
    return false;
}

// One message for one target.
struct Delivery::Job {
    std::shared_ptr<const config::EmailTarget> email;     // one of the two
    std::shared_ptr<const config::WebhookTarget> webhook;
    std::string target;   // "email smtp://mail:587", "webhook https://..." for messages
    std::string channel;  // "email", "webhook"
    std::string what;     // the event's name, for messages
    std::string payload;  // the mail, or the JSON body
    unsigned attempts = 0;
    double not_before = 0;
};

struct Delivery::Transfer {
    std::unique_ptr<Job> job;
    CURL *easy = nullptr;
    curl_slist *list = nullptr;  // recipients or headers
    size_t read_at = 0;          // how much of the mail libcurl has taken
    std::string response;
    char error[CURL_ERROR_SIZE] = {};
    ~Transfer() {
        if (easy != nullptr) curl_easy_cleanup(easy);
        curl_slist_free_all(list);
    }
};

Delivery::Delivery(const config::Notify &config, std::vector<std::string> fqdns,
                   events::Events &events, metrics::Metrics &metrics, service::Reactor &reactor)
    : events_(events),
      metrics_(metrics),
      reactor_(reactor),
      coalescer_(config.coalesce),
      curl_deadline_(std::numeric_limits<double>::infinity()),
      jitter_(static_cast<unsigned>(getpid())) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    multi_ = curl_multi_init();
    curl_multi_setopt(as_multi(multi_), CURLMOPT_SOCKETFUNCTION, &Delivery::on_socket);
    curl_multi_setopt(as_multi(multi_), CURLMOPT_SOCKETDATA, this);
    curl_multi_setopt(as_multi(multi_), CURLMOPT_TIMERFUNCTION, &Delivery::on_timer);
    curl_multi_setopt(as_multi(multi_), CURLMOPT_TIMERDATA, this);
    reconfigure(config, std::move(fqdns));
}

Delivery::~Delivery() {
    for (auto &t : running_) curl_multi_remove_handle(as_multi(multi_), t->easy);
    running_.clear();
    curl_multi_cleanup(as_multi(multi_));
}

void Delivery::reconfigure(const config::Notify &config, std::vector<std::string> fqdns) {
    auto s = std::make_shared<Settings>();
    s->notify = config;
    for (const auto &t : config.email) s->email.push_back(std::make_shared<config::EmailTarget>(t));
    for (const auto &t : config.webhooks)
        s->webhooks.push_back(std::make_shared<config::WebhookTarget>(t));
    s->fqdns = std::move(fqdns);
    s->host = config.host.empty() ? local_host_name() : config.host;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        settings_ = std::move(s);
    }
    const double window = config.coalesce;
    reactor_.post([this, window] { coalescer_.set_window(window); });
}

std::shared_ptr<const Delivery::Settings> Delivery::settings() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return settings_;
}

bool Delivery::wanted(const events::Event &e) const {
    if (is_notification_kind(e.kind) || (e.about && is_notification_kind(*e.about))) return false;
    const auto s = settings();
    return std::any_of(s->email.begin(), s->email.end(),
                       [&](const auto &t) { return accepts(t->filter, e); }) ||
           std::any_of(s->webhooks.begin(), s->webhooks.end(),
                       [&](const auto &t) { return accepts(t->filter, e); });
}

void Delivery::submit(const events::Event &event) {
    {
        std::lock_guard<std::mutex> lock(mutex_);
        outstanding_ = outstanding_ + 1;  // busy() until the service thread has seen it
        if (incoming_.size() >= settings_->notify.queue_size) {
            incoming_.pop_front();
            ++dropped_;
        }
        incoming_.push_back(event);
    }
    reactor_.wake();
}

bool Delivery::busy() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return !incoming_.empty() || outstanding_ > 0;
}

void Notifier::on_event(const events::Event &event) {
    if (delivery_.wanted(event)) delivery_.submit(event);
}

// ------------------------------------------------------- the service thread

void Delivery::take_incoming(double now) {
    std::deque<events::Event> events;
    {
        std::lock_guard<std::mutex> lock(mutex_);
        events.swap(incoming_);
    }
    const auto s = settings();
    for (auto &e : events) {
        Notification n{std::move(e), 0, 0, s->host, s->fqdns};
        if (auto now_out = coalescer_.offer(n, now)) {
            make_jobs(*now_out, *s);
            continue;
        }
        // Held for the window's summary: counted on each channel it would have taken.
        for (const auto &job : jobs_for(n.event, *s)) metrics_.notification(job->channel, "coalesced");
    }
    for (const auto &summary : coalescer_.due(now)) make_jobs(summary, *s);
}

// A job, its payload still empty, for every target of `s` that takes `e`.
std::vector<std::unique_ptr<Delivery::Job>> Delivery::jobs_for(const events::Event &e,
                                                               const Settings &s) {
    std::vector<std::unique_ptr<Job>> jobs;
    const auto job_for = [&](const config::EventFilter &filter, const char *channel,
                             std::string where) -> Job * {
        if (!accepts(filter, e)) return nullptr;
        jobs.push_back(std::make_unique<Job>());
        Job &job = *jobs.back();
        job.channel = channel;
        job.target = std::move(where);
        job.what = events::name(e.kind);
        return &job;
    };
    for (const auto &t : s.email)
        if (Job *job = job_for(t->filter, "email", fmt::format("email via {}", t->server)))
            job->email = t;
    for (const auto &t : s.webhooks)
        if (Job *job = job_for(t->filter, "webhook", fmt::format("webhook {}", t->url)))
            job->webhook = t;
    return jobs;
}

void Delivery::make_jobs(const Notification &n, const Settings &s) {
    for (auto &job : jobs_for(n.event, s)) {
        job->payload = job->email ? email_message(n, job->email->from, job->email->to, wall_now())
                                  : webhook_payload(n).dump(-1, ' ', false,
                                                            nlohmann::json::error_handler_t::replace);
        enqueue(std::move(job));
    }
}

void Delivery::enqueue(std::unique_ptr<Job> job) {
    const size_t limit = settings()->notify.queue_size;
    while (waiting_.size() >= limit) {
        metrics_.notification(waiting_.front()->channel, "dropped");
        waiting_.pop_front();
        ++dropped_;
    }
    waiting_.push_back(std::move(job));
}

void Delivery::report_drops() {
    const size_t dropped = dropped_.exchange(0);
    if (dropped == 0) return;
    events_.emit(events::make(
        Kind::NotificationsDropped,
        fmt::format("{} notification{} dropped: more than notify.queue_size ({}) were waiting",
                    dropped, dropped == 1 ? " was" : "s were", settings()->notify.queue_size)));
}

void Delivery::start_transfers(double now) {
    for (auto it = waiting_.begin(); it != waiting_.end() && running_.size() < kMaxRunning;) {
        if ((*it)->not_before > now) {
            ++it;
            continue;
        }
        auto t = std::make_unique<Transfer>();
        t->job = std::move(*it);
        it = waiting_.erase(it);
        Job &job = *t->job;
        ++job.attempts;
        t->easy = curl_easy_init();
        CURL *e = t->easy;
        const auto common = [&](bool verify, const std::string &ca_file, double timeout) {
            curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
            curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout * 1000));
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
            curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
            if (!ca_file.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, ca_file.c_str());
            curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
            curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
        };
        if (job.email) {
            const auto &m = *job.email;
            const std::string url = fmt::format("{}://{}/{}", m.tls == "implicit" ? "smtps" : "smtp",
                                                m.server, local_host_name());
            curl_easy_setopt(e, CURLOPT_URL, url.c_str());
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
            if (m.tls == "starttls") curl_easy_setopt(e, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
            if (!m.username.empty()) {
                curl_easy_setopt(e, CURLOPT_USERNAME, m.username.c_str());
                curl_easy_setopt(e, CURLOPT_PASSWORD, m.password.c_str());
            }
            const std::string from = "<" + m.from + ">";
            curl_easy_setopt(e, CURLOPT_MAIL_FROM, from.c_str());
            for (const auto &to : m.to) t->list = curl_slist_append(t->list, ("<" + to + ">").c_str());
            curl_easy_setopt(e, CURLOPT_MAIL_RCPT, t->list);
            curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
            curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(job.payload.size()));
            curl_easy_setopt(e, CURLOPT_READDATA, t.get());
            curl_easy_setopt(e, CURLOPT_READFUNCTION,
                             +[](char *out, size_t size, size_t count, void *self) -> size_t {
                                 auto &transfer = *static_cast<Transfer *>(self);
                                 const std::string &mail = transfer.job->payload;
                                 const size_t n = std::min(size * count, mail.size() - transfer.read_at);
                                 mail.copy(out, n, transfer.read_at);
                                 transfer.read_at += n;
                                 return n;
                             });
            common(m.verify_tls, m.ca_file, m.timeout);
        } else {
            const auto &w = *job.webhook;
            curl_easy_setopt(e, CURLOPT_URL, w.url.c_str());
            curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, static_cast<long>(job.payload.size()));
            curl_easy_setopt(e, CURLOPT_POSTFIELDS, job.payload.c_str());
            t->list = curl_slist_append(t->list, "Content-Type: application/json");
            t->list = curl_slist_append(t->list, ("User-Agent: autodnsfailover/" ADF_VERSION));
            t->list = curl_slist_append(t->list, ("X-Autodnsfailover-Event: " + job.what).c_str());
            if (!w.hmac_key.empty())
                t->list = curl_slist_append(
                    t->list, fmt::format("{}: {}", kSignatureHeader, signature(w.hmac_key, job.payload)).c_str());
            for (const auto &[header, value] : w.headers)
                t->list = curl_slist_append(t->list, (header + ": " + value).c_str());
            curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->list);
            curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &discard_or_keep);
            curl_easy_setopt(e, CURLOPT_WRITEDATA, &t->response);
            common(w.verify_tls, w.ca_file, w.timeout);
        }
        curl_multi_add_handle(as_multi(multi_), e);
        running_.push_back(std::move(t));
    }
}

void Delivery::finish_transfers(double now) {
    int left = 0;
    while (CURLMsg *message = curl_multi_info_read(as_multi(multi_), &left)) {
        if (message->msg != CURLMSG_DONE) continue;
        CURL *easy = message->easy_handle;
        const CURLcode code = message->data.result;
        Transfer *t = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char **>(&t));
        curl_multi_remove_handle(as_multi(multi_), easy);
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        std::string error;
        if (code != CURLE_OK)
            error = t->error[0] != '\0' ? t->error : curl_easy_strerror(code);
        else if (t->job->webhook && (status < 200 || status > 299))
            error = fmt::format("HTTP status {}{}", status,
                                t->response.empty() ? "" : ": " + text::printable(t->response));
        finished(*t, error.empty(), error, now);
        running_.erase(std::remove_if(running_.begin(), running_.end(),
                                      [&](const auto &r) { return r.get() == t; }),
                       running_.end());
    }
}

void Delivery::finished(Transfer &t, bool ok, const std::string &error, double now) {
    Job &job = *t.job;
    if (ok) {
        metrics_.notification(job.channel, "delivered");
        log::debug(fmt::format("notification {} delivered by {}", job.what, job.target),
                   {"", "", "", "", "notification_delivered"});
        events_.resolve(Kind::NotificationFailed, "", 0, job.target);
        return;
    }
    metrics_.notification_attempt_failed(job.channel);
    const auto s = settings();
    if (job.attempts < s->notify.attempts) {
        const double base = std::min(s->notify.retry_delay * std::pow(2.0, job.attempts - 1.0),
                                     s->notify.max_retry_delay);
        const double spread = std::uniform_real_distribution<double>(0.8, 1.2)(jitter_);
        log::debug(fmt::format("notification {} by {}: attempt {} failed ({}); retrying in {:.1f} s",
                               job.what, job.target, job.attempts, error, base * spread),
                   {"", "", "", "", "notification_retry"});
        job.not_before = now + base * spread;
        enqueue(std::move(t.job));
        return;
    }
    metrics_.notification(job.channel, "failed");
    auto failed = events::make(
        Kind::NotificationFailed,
        fmt::format("could not deliver the {} notification by {} after {} attempt{}",
                    job.what, job.target, job.attempts, job.attempts == 1 ? "" : "s"));
    failed.plugin = job.target;
    failed.reason = error;
    events_.emit(failed);
}

// ------------------------------------------------------------- libcurl glue

int Delivery::on_socket(void * /*easy*/, int fd, int what, void *self, void * /*data*/) {
    auto &d = *static_cast<Delivery *>(self);
    if (what == CURL_POLL_REMOVE) {
        d.sockets_.erase(fd);
        return 0;
    }
    short events = 0;
    if (what == CURL_POLL_IN || what == CURL_POLL_INOUT) events |= POLLIN;
    if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT) events |= POLLOUT;
    d.sockets_[fd] = events;
    return 0;
}

int Delivery::on_timer(void * /*multi*/, long timeout_ms, void *self) {
    auto &d = *static_cast<Delivery *>(self);
    d.curl_deadline_ = timeout_ms < 0 ? std::numeric_limits<double>::infinity()
                                      : monotonic_now() + static_cast<double>(timeout_ms) / 1000.0;
    return 0;
}

void Delivery::fds(std::vector<pollfd> &out) {
    for (const auto &[fd, events] : sockets_) out.push_back({fd, events, 0});
}

double Delivery::deadline() {
    double next = std::min(curl_deadline_, coalescer_.next_due());
    const bool room = running_.size() < kMaxRunning;
    for (const auto &job : waiting_)
        if (room) next = std::min(next, job->not_before);
    {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!incoming_.empty()) return 0;
    }
    return next;
}

void Delivery::run(const std::vector<pollfd> &ready, double now) {
    int running = 0;
    for (const auto &p : ready) {
        if (p.revents == 0) continue;
        int flags = 0;
        if (p.revents & POLLIN) flags |= CURL_CSELECT_IN;
        if (p.revents & POLLOUT) flags |= CURL_CSELECT_OUT;
        if (p.revents & (POLLERR | POLLHUP)) flags |= CURL_CSELECT_ERR;
        curl_multi_socket_action(as_multi(multi_), p.fd, flags, &running);
    }
    if (now >= curl_deadline_) {
        curl_deadline_ = std::numeric_limits<double>::infinity();
        curl_multi_socket_action(as_multi(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
    }
    finish_transfers(now);
    take_incoming(now);
    report_drops();
    start_transfers(now);
    // A transfer added just now sets its timer through on_timer; kick it so
    // that libcurl starts connecting without waiting for the next turn.
    if (curl_deadline_ <= monotonic_now()) {
        curl_deadline_ = std::numeric_limits<double>::infinity();
        curl_multi_socket_action(as_multi(multi_), CURL_SOCKET_TIMEOUT, 0, &running);
        finish_transfers(now);
    }
    std::lock_guard<std::mutex> lock(mutex_);
    outstanding_ = waiting_.size() + running_.size();
}

}  // namespace adf::notify
