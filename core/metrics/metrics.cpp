#include "metrics/metrics.h"

#include <set>

#include <autodnsfailover/plugin.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <fmt/format.h>

#include "net/address.h"

namespace adf::metrics {

using events::Kind;
using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {

const char *const kVerdicts[] = {"alive", "dead", "not_judged", "unknown"};

prometheus::Labels set_labels(const events::Event &e) {
    return {{"fqdn", e.fqdn}, {"type", record_type(e.family)}};
}

}  // namespace

Metrics::Metrics() : registry_(std::make_shared<prometheus::Registry>()) {
    auto &r = *registry_;
    BuildGauge()
        .Name("autodnsfailover_build_info")
        .Help("The running build: version and plugin ABI, value 1")
        .Register(r)
        .Add({{"version", ADF_VERSION},
              {"abi", fmt::format("{}.{}", ADF_ABI_MAJOR, ADF_ABI_MINOR)}})
        .Set(1);
    rounds_ = &BuildCounter()
                   .Name("autodnsfailover_rounds_total")
                   .Help("Rounds run; result=failed when a read or write failed, the own address "
                         "was unknown or the self-check could not be made")
                   .Register(r);
    rounds_->Add({{"result", "ok"}});
    rounds_->Add({{"result", "failed"}});
    round_duration_ = &BuildHistogram()
                           .Name("autodnsfailover_round_duration_seconds")
                           .Help("How long rounds take")
                           .Register(r)
                           .Add({}, prometheus::Histogram::BucketBoundaries{
                                        0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120});
    last_round_ = &BuildGauge()
                       .Name("autodnsfailover_last_round_timestamp_seconds")
                       .Help("When the last round ended (Unix time)")
                       .Register(r)
                       .Add({});
    last_good_round_ = &BuildGauge()
                            .Name("autodnsfailover_last_successful_round_timestamp_seconds")
                            .Help("When the last round that did its whole job ended (Unix time)")
                            .Register(r)
                            .Add({});
    checks_ = &BuildCounter()
                   .Name("autodnsfailover_checks_total")
                   .Help("Checks made (own address, peers, witnesses) by plugin and verdict")
                   .Register(r);
    peers_ = &BuildGauge()
                  .Name("autodnsfailover_peers")
                  .Help("Peers of each record set by their last verdict")
                  .Register(r);
    records_ = &BuildGauge()
                    .Name("autodnsfailover_records")
                    .Help("Records in each set as last read")
                    .Register(r);
    removals_ = &BuildCounter()
                     .Name("autodnsfailover_removals_total")
                     .Help("Dead peers removed from DNS")
                     .Register(r);
    additions_ = &BuildCounter()
                      .Name("autodnsfailover_additions_total")
                      .Help("Own records added into DNS")
                      .Register(r);
    refused_ = &BuildCounter()
                    .Name("autodnsfailover_removals_refused_total")
                    .Help("Removals of dead peers a safeguard refused, by reason")
                    .Register(r);
    conflicts_ = &BuildCounter()
                      .Name("autodnsfailover_conflicts_total")
                      .Help("Conditional writes refused because the set changed under them")
                      .Register(r);
    provider_errors_ = &BuildCounter()
                            .Name("autodnsfailover_provider_errors_total")
                            .Help("Failed backend calls by backend, operation and kind")
                            .Register(r);
    self_check_failures_ = &BuildCounter()
                                .Name("autodnsfailover_self_check_failures_total")
                                .Help("Failed self-checks (each makes the daemon exit)")
                                .Register(r);
    self_check_failures_->Add({});
    events_ = &BuildCounter()
                   .Name("autodnsfailover_events_total")
                   .Help("Events by stable name (README \"Events\"), repeats included")
                   .Register(r);
    notifications_ = &BuildCounter()
                          .Name("autodnsfailover_notifications_total")
                          .Help("Notifications by channel and result (delivered, failed after "
                                "every attempt, dropped from a full queue, coalesced)")
                          .Register(r);
    notification_attempt_failures_ = &BuildCounter()
                                          .Name("autodnsfailover_notification_attempt_failures_total")
                                          .Help("Failed delivery attempts by channel")
                                          .Register(r);
    peer_refused_ = &BuildCounter()
                         .Name("autodnsfailover_peer_messages_refused_total")
                         .Help("Peer-protocol messages refused, by receiving side and reason")
                         .Register(r);
    peer_decisions_ = &BuildCounter()
                           .Name("autodnsfailover_peer_decisions_total")
                           .Help("Decisions taken with the other observers, by outcome")
                           .Register(r);
    for (const char *channel : {"email", "webhook"}) {
        for (const char *result : {"delivered", "failed", "dropped", "coalesced"})
            notifications_->Add({{"channel", channel}, {"result", result}});
        notification_attempt_failures_->Add({{"channel", channel}});
    }
}

Metrics::~Metrics() = default;

void Metrics::on_event(const events::Event &e) {
    const auto decision = [&](const char *outcome) {
        auto labels = set_labels(e);
        labels["outcome"] = outcome;
        peer_decisions_->Add(labels).Increment();
    };
    events_->Add({{"event", events::name(e.kind)}}).Increment();
    switch (e.kind) {
        case Kind::PeerRemoved: removals_->Add(set_labels(e)).Increment(); break;
        case Kind::SelfAdded: additions_->Add(set_labels(e)).Increment(); break;
        case Kind::RemovalRefused: {
            auto labels = set_labels(e);
            labels["reason"] = events::refusal_name(e.refusal);
            refused_->Add(labels).Increment();
            if (e.refusal == events::Refusal::NotConfirmed) decision("not_confirmed");
            if (e.refusal == events::Refusal::Isolated) decision("isolated");
            break;
        }
        case Kind::WriteConflict: {
            auto labels = set_labels(e);
            labels["operation"] = e.operation;
            conflicts_->Add(labels).Increment();
            break;
        }
        case Kind::ProviderError:
            provider_errors_
                ->Add({{"backend", e.plugin}, {"operation", e.operation}, {"kind", e.status}})
                .Increment();
            break;
        case Kind::SelfCheckFailed: self_check_failures_->Add({}).Increment(); break;
        case Kind::RemovalConfirmed: decision("confirmed"); break;
        case Kind::AgreementFallback: decision("fallback"); break;
        case Kind::SelfFenced: decision("self_fenced"); break;
        default: break;
    }
}

void Metrics::round_done(double seconds, bool good, Stamp end) {
    rounds_->Add({{"result", good ? "ok" : "failed"}}).Increment();
    round_duration_->Observe(seconds);
    last_round_->Set(end.wall);
    if (good) last_good_round_->Set(end.wall);
}

void Metrics::count_checks(const std::string &plugin, size_t alive, size_t dead,
                           size_t not_judged) {
    const std::pair<const char *, size_t> counts[] = {
        {"alive", alive}, {"dead", dead}, {"not_judged", not_judged}};
    for (const auto &[result, n] : counts)
        checks_->Add({{"plugin", plugin}, {"result", result}}).Increment(static_cast<double>(n));
}

void Metrics::update_sets(const state::Snapshot &snapshot) {
    std::lock_guard<std::mutex> lock(sets_mutex_);
    std::set<std::pair<std::string, int>> seen;
    for (const auto &set : snapshot.sets) {
        const auto key = std::make_pair(set.fqdn, set.family);
        seen.insert(key);
        auto &gauges = set_gauges_[key];
        const prometheus::Labels base{{"fqdn", set.fqdn}, {"type", record_type(set.family)}};
        if (gauges.empty()) {
            gauges["records"] = &records_->Add(base);
            for (const char *verdict : kVerdicts) {
                auto labels = base;
                labels["state"] = verdict;
                gauges[verdict] = &peers_->Add(labels);
            }
        }
        std::map<std::string, double> counts;
        for (const auto &[address, peer] : set.peers) counts[state::verdict_name(peer.verdict)] += 1;
        for (const char *verdict : kVerdicts) gauges[verdict]->Set(counts[verdict]);
        gauges["records"]->Set(static_cast<double>(set.records.size()));
    }
    for (auto it = set_gauges_.begin(); it != set_gauges_.end();) {
        if (seen.count(it->first)) {
            ++it;
            continue;
        }
        records_->Remove(it->second["records"]);
        for (const char *verdict : kVerdicts) peers_->Remove(it->second[verdict]);
        it = set_gauges_.erase(it);
    }
}

void Metrics::notification(const std::string &channel, const std::string &result) {
    notifications_->Add({{"channel", channel}, {"result", result}}).Increment();
}

void Metrics::notification_attempt_failed(const std::string &channel) {
    notification_attempt_failures_->Add({{"channel", channel}}).Increment();
}

std::string Metrics::exposition() const {
    return prometheus::TextSerializer().Serialize(registry_->Collect());
}

void Metrics::peer_message_refused(const std::string &side, const std::string &reason,
                                   uint64_t count) {
    peer_refused_->Add({{"side", side}, {"reason", reason}}).Increment(static_cast<double>(count));
}

}  // namespace adf::metrics
