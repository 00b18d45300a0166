#include "loop/peering.h"

#include <poll.h>

#include <algorithm>
#include <cctype>
#include <limits>
#include <mutex>

#include <fmt/format.h>

#include "logging/log.h"
#include "loop/on_demand.h"
#include "peer/opinion.h"
#include "peer/roster.h"
#include "peer/view.h"
#include "plugin/kinds.h"
#include "util/clock.h"

namespace adf::loop {

struct Peering::Shared {
    std::mutex mutex;
    std::map<std::pair<std::string, int>, peer::SetView> views;  // (wire fqdn, family)
    peer::Roster roster;
    std::map<int, Address> own;
    peer::HysteresisSettings hysteresis;
    isolation::Limits limits;  // one check: the round's timeout and attempts
    double check_seconds = 1;  // limits' timeout x attempts
    std::shared_ptr<OnDemandChecks> on_demand;
};

namespace {

// Datagrams served per readiness of a socket before the other participants
// get their turn: a flood of questions cannot starve metrics and status.
constexpr int kServedPerWake = 256;

// Questions waiting for a check made for them at most; more are answered
// unknown at once (a check costs a process).
constexpr size_t kMaxDeferred = 64;

// How often the server forgets the questions whose askers stopped waiting.
constexpr double kExpirePeriod = 0.5;

// How much older than a round apart a stored verdict may be and still
// answer a question: the answering daemon's round may be late by this.
constexpr double kFreshnessMargin = 0.5;

// The peer server on the service thread: answers questions from the
// members of the pool with the verdicts this daemon holds.
class PeerServer : public service::Participant {
   public:
    PeerServer(std::unique_ptr<peer::Server> server, std::shared_ptr<Peering::Shared> shared,
               metrics::Metrics &metrics)
        : server_(std::move(server)), shared_(std::move(shared)), metrics_(metrics) {}

    std::string name() const override { return "peers"; }

    void fds(std::vector<pollfd> &out) override {
        for (int fd : server_->descriptors()) out.push_back(pollfd{fd, POLLIN, 0});
        on_demand_ = on_demand();
        if (on_demand_) out.push_back(pollfd{on_demand_->ready_fd(), POLLIN, 0});
    }

    double deadline() override {
        return server_->deferred() > 0 ? monotonic_now() + kExpirePeriod
                                       : std::numeric_limits<double>::infinity();
    }

    void run(const std::vector<pollfd> &ready, double /*now*/) override {
        server_->expire_deferred(peer::wall_clock_ms());
        for (const pollfd &p : ready) {
            if (!(p.revents & POLLIN)) continue;
            if (on_demand_ && p.fd == on_demand_->ready_fd()) {
                answer_checked(on_demand_->take());
                continue;
            }
            for (int i = 0; i < kServedPerWake; ++i) {
                const auto served = server_->serve_one(
                    p.fd, [this](const Address &a) { return is_member(a); },
                    [this](const peer::Inquiry &q) { return lookup(q); }, peer::wall_clock_ms());
                if (!served) break;
                if (served->refusal != peer::Refusal::None) refused(*served);
            }
        }
    }

   private:
    std::shared_ptr<OnDemandChecks> on_demand() {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        return shared_->on_demand;
    }

    // Checks made for questions: each verdict joins the view, and the
    // questions waiting for it get their answer.
    void answer_checked(const std::vector<OnDemandChecks::Done> &done) {
        std::vector<std::pair<uint64_t, peer::Answer>> answers;
        {
            std::lock_guard<std::mutex> lock(shared_->mutex);
            const double now = monotonic_now();
            for (const auto &d : done) {
                const int family = d.request.address.family;
                const auto view = shared_->views.find({d.request.fqdn, family});
                const auto own = shared_->own.find(family);
                if (view == shared_->views.end() || own == shared_->own.end()) continue;
                if (!d.verdict.host_fault)
                    view->second.observe(d.request.address, d.verdict.alive, d.verdict.reason(),
                                         now, shared_->hysteresis);
                peer::Question any_age{d.request.address, d.request.fqdn,
                                       std::numeric_limits<uint32_t>::max(), 0};
                answers.emplace_back(d.request.ticket,
                                     view->second.answer(any_age, now, shared_->hysteresis,
                                                         own->second, shared_->check_seconds));
            }
        }
        for (auto &[ticket, answer] : answers)
            server_->answer_later(ticket, std::move(answer), peer::wall_clock_ms());
    }

    bool is_member(const Address &address) {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        return shared_->roster.contains(address, monotonic_now());
    }

    std::optional<peer::Answer> lookup(const peer::Inquiry &inquiry) {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        const int family = inquiry.question.subject.family;
        const auto own = shared_->own.find(family);
        if (own == shared_->own.end()) {
            Address unspecified;  // "::" or "0.0.0.0": no address of ours to name
            unspecified.family = family;
            return peer::no_verdict(peer::Verdict::Unknown, unspecified,
                                    "I have no address of that family");
        }
        const Address &observer = own->second;
        const auto view = shared_->views.find({inquiry.question.fqdn, family});
        if (view == shared_->views.end())
            return peer::no_verdict(peer::Verdict::NotTracked, observer, "I do not watch that name");
        const double now = monotonic_now();
        if (shared_->on_demand && inquiry.may_defer &&
            view->second.needs_check(inquiry.question, now, shared_->check_seconds)) {
            shared_->on_demand->request({inquiry.ticket, inquiry.question.fqdn,
                                         inquiry.question.subject},
                                        shared_->limits);
            return std::nullopt;  // answered by answer_checked()
        }
        return view->second.answer(inquiry.question, monotonic_now(), shared_->hysteresis,
                                   observer, shared_->check_seconds);
    }

    void refused(const peer::Served &served) {
        metrics_.peer_message_refused("server", peer::refusal_label(served.refusal));
        std::string detail;
        if (served.refusal == peer::Refusal::Stale || served.refusal == peer::Refusal::Future)
            detail = fmt::format(" (its clock is {:+} ms from ours)", served.clock_offset_ms);
        log::debug(fmt::format("refused a peer message from {} port {}: {}{}", served.from.text(),
                               served.from_port, peer::refusal_text(served.refusal), detail),
                   {"", "", served.from.text(), "", "peer_message_refused"});
    }

    std::unique_ptr<peer::Server> server_;
    std::shared_ptr<Peering::Shared> shared_;
    metrics::Metrics &metrics_;
    std::shared_ptr<OnDemandChecks> on_demand_;  // as of the last fds()
};

peer::ServerSettings server_settings(const config::Peers &peers) {
    peer::ServerSettings s;
    s.keys = peers.keys;
    s.window_ms = static_cast<uint64_t>(peers.clock_window * 1000);
    s.max_deferred = kMaxDeferred;
    return s;
}

std::shared_ptr<OnDemandChecks> on_demand_checks(const config::Config &config) {
    return std::make_shared<OnDemandChecks>(
        isolation::HelperSetup{config.check, plugin::plugin_dirs_of(config), config.logging});
}

}  // namespace

std::string wire_fqdn(const std::string &fqdn) {
    std::string out = fqdn;
    if (!out.empty() && out.back() == '.') out.pop_back();
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

Peering::Peering(const config::Config &config, metrics::Metrics &metrics)
    : shared_(std::make_shared<Shared>()),
      metrics_(metrics),
      settings_(*config.peers),
      asker_(config.peers->keys, config.peers->port),
      random_(std::random_device{}()) {
    std::unique_ptr<peer::Server> server;
    try {
        server = std::make_unique<peer::Server>(settings_.listen, settings_.port,
                                                server_settings(settings_));
    } catch (const std::runtime_error &e) {
        throw config::ConfigError(fmt::format("{}: peers.listen/peers.port: {}", config.source,
                                              e.what()));
    }
    port_ = server->port();
    shared_->hysteresis = settings_.hysteresis;
    shared_->on_demand = on_demand_checks(config);
    server_ = std::make_unique<PeerServer>(std::move(server), shared_, metrics_);
}

Peering::~Peering() = default;

std::unique_ptr<service::Participant> Peering::take_server() { return std::move(server_); }

std::string Peering::reconfigure(const config::Config &config) {
    const config::Peers &fresh = *config.peers;
    std::vector<std::string> kept;
    if (fresh.keys.signing.bytes != settings_.keys.signing.bytes ||
        (fresh.keys.also_accepted ? fresh.keys.also_accepted->bytes : "") !=
            (settings_.keys.also_accepted ? settings_.keys.also_accepted->bytes : ""))
        kept.push_back("peers.key/accept_key");
    if (!(fresh.listen == settings_.listen)) kept.push_back("peers.listen");
    if (fresh.port != settings_.port) kept.push_back("peers.port");
    if (fresh.clock_window != settings_.clock_window) kept.push_back("peers.clock_window");
    const config::Peers old = settings_;
    settings_ = fresh;
    settings_.keys = old.keys;
    settings_.listen = old.listen;
    settings_.port = old.port;
    settings_.clock_window = old.clock_window;
    std::shared_ptr<OnDemandChecks> fresh_checks = on_demand_checks(config);
    {
        std::lock_guard<std::mutex> lock(shared_->mutex);
        shared_->hysteresis = settings_.hysteresis;
        std::swap(shared_->on_demand, fresh_checks);  // the reload's check section
    }
    fresh_checks.reset();  // the old one's thread ends here, outside the lock
    fallbacks_said_.clear();
    if (kept.empty()) return "";
    return fmt::format("{} changed: the peer server keeps the old value until the daemon is "
                       "restarted", fmt::join(kept, ", "));
}

void Peering::begin_round(double interval, const isolation::Limits &limits,
                          const std::map<int, Address> &own) {
    interval_ = interval;
    const double check_seconds = limits.timeout * std::max(1u, limits.attempts);
    check_seconds_ = check_seconds;
    std::vector<Address> selves;
    for (const auto &[family, address] : own) {
        selves.push_back(address);
        asker_.send_from(address);
    }
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->own = own;
    shared_->limits = limits;
    shared_->check_seconds = check_seconds;
    shared_->roster.saw(selves, monotonic_now());
}

std::vector<Address> Peering::to_check(const std::string &fqdn, int family,
                                       const std::vector<Address> &listed, const Address &self) {
    const double now = monotonic_now();
    std::lock_guard<std::mutex> lock(shared_->mutex);
    shared_->roster.saw(listed, now);
    return shared_->views[{wire_fqdn(fqdn), family}].to_check(listed, self, now,
                                                               shared_->hysteresis);
}

void Peering::observe(const std::string &fqdn, int family,
                      const std::vector<isolation::Verdict> &verdicts) {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    peer::SetView &view = shared_->views[{wire_fqdn(fqdn), family}];
    for (const auto &v : verdicts)
        if (!v.host_fault)
            view.observe(v.address, v.alive, v.reason(), monotonic_now(), shared_->hysteresis);
}

const peer::PeerHealth *Peering::health_of(const std::string &fqdn, int family,
                                           const Address &address) const {
    const auto view = shared_->views.find({wire_fqdn(fqdn), family});
    return view == shared_->views.end() ? nullptr : view->second.health(address);
}

peer::Verdict Peering::verdict(const std::string &fqdn, int family, const Address &address) const {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    const peer::PeerHealth *health = health_of(fqdn, family, address);
    return health ? health->verdict(monotonic_now(), shared_->hysteresis.damping)
                  : peer::Verdict::Unknown;
}

std::string Peering::explain(const std::string &fqdn, int family, const Address &address) const {
    std::lock_guard<std::mutex> lock(shared_->mutex);
    const peer::PeerHealth *health = health_of(fqdn, family, address);
    return health ? health->explain(monotonic_now(), shared_->hysteresis) : "not checked yet";
}

std::vector<std::vector<peer::Testimony>> Peering::ask(const std::string &fqdn,
                                                       const std::vector<Address> &subjects,
                                                       const std::vector<Address> &listed,
                                                       const Address &self,
                                                       const std::map<Address, bool> &passes,
                                                       const isolation::Interrupt &interrupt) {
    const double deadline = config::ask_deadline(settings_, check_seconds_, 1);
    // A verdict taken since the answering daemon's last round is fresh: a
    // round apart, plus its checks and its own questions, plus a margin.
    const double max_age = interval_ + check_seconds_ + deadline + kFreshnessMargin;
    std::vector<peer::Target> targets;
    std::vector<size_t> subject_of;
    for (size_t i = 0; i < subjects.size(); ++i) {
        peer::Question q;
        q.subject = subjects[i];
        q.fqdn = wire_fqdn(fqdn);
        q.max_age_ms = static_cast<uint32_t>(max_age * 1000);
        q.wait_ms = static_cast<uint32_t>(std::min<double>(deadline * 1000, peer::kMaxWaitMs));
        for (const Address &o :
             peer::observers_to_ask(listed, subjects[i], self, settings_.max_asked, random_)) {
            targets.push_back(peer::Target{o, q});
            subject_of.push_back(i);
        }
    }
    std::vector<std::vector<peer::Testimony>> out(subjects.size());
    if (targets.empty()) return out;
    const peer::RefusalCounts before = asker_.refusals();
    const auto replies = asker_.ask(targets, monotonic_now() + deadline, interrupt);
    count_refusals(before);
    for (size_t t = 0; t < replies.size(); ++t) {
        peer::Testimony x;
        x.heard = replies[t].heard;
        x.verdict = replies[t].answer.verdict;
        const auto mine = passes.find(replies[t].peer);
        x.passes_my_checks = mine != passes.end() && mine->second;
        out[subject_of[t]].push_back(x);
    }
    return out;
}

void Peering::count_refusals(const peer::RefusalCounts &before) {
    for (size_t r = 1; r < peer::kRefusalKinds; ++r) {
        const auto refusal = static_cast<peer::Refusal>(r);
        const uint64_t added = asker_.refusals().of(refusal) - before.of(refusal);
        if (added > 0) metrics_.peer_message_refused("asker", peer::refusal_label(refusal), added);
    }
}

std::vector<peer::Decision> Peering::consult_removals(const std::string &fqdn, int family,
                                                      const Address &self,
                                                      const std::vector<Address> &listed,
                                                      const std::vector<Address> &candidates,
                                                      const std::map<Address, bool> &passes,
                                                      const isolation::Interrupt &interrupt) {
    const auto heard = ask(fqdn, candidates, listed, self, passes, interrupt);
    std::vector<peer::Decision> out;
    const peer::Rule rule{settings_.agreement};
    for (size_t i = 0; i < candidates.size(); ++i)
        out.push_back(peer::decide_removal(rule, verdict(fqdn, family, candidates[i]), heard[i]));
    return out;
}

peer::SelfDecision Peering::consult_self(const std::string &fqdn, int /*family*/,
                                         const Address &self, const std::vector<Address> &listed,
                                         const std::map<Address, bool> &passes,
                                         const isolation::Interrupt &interrupt) {
    return peer::decide_self(ask(fqdn, {self}, listed, self, passes, interrupt).front());
}

bool Peering::first_fallback(const std::string &fqdn, int family, peer::Fallback why) {
    return fallbacks_said_.insert({wire_fqdn(fqdn), family, static_cast<int>(why)}).second;
}

}  // namespace adf::loop
