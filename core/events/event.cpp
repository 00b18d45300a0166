#include "events/event.h"

#include <stdexcept>

namespace adf::events {

using log::Level;

const std::vector<KindInfo> &catalogue() {
    static const std::vector<KindInfo> kinds = {
        {Kind::Started, "started", Level::Info, "the daemon started",
         "runs a round every interval"},
        {Kind::Stopping, "stopping", Level::Info, "the daemon is stopping",
         "stops its checks and exits"},
        {Kind::ConfigReloaded, "config_reloaded", Level::Info, "configuration reloaded",
         "runs on the new configuration"},
        {Kind::ReloadRefused, "reload_refused", Level::Error,
         "a new configuration was refused; the running one stays",
         "keeps running on the old configuration; fix the file and reload again"},
        {Kind::OwnAddress, "own_address", Level::Info, "own address found",
         "manages this address's record"},
        {Kind::OwnAddressChanged, "own_address_changed", Level::Warning, "own address changed",
         "manages the new address's record from now on"},
        {Kind::OwnAddressFailed, "own_address_failed", Level::Error,
         "own address unknown; its records are left alone",
         "leaves that family's records alone until the address is known again"},
        {Kind::SelfCheckFailed, "self_check_failed", Level::Critical,
         "self-check failed; the daemon exits",
         "judges nobody, waits safety.self_check_failure_delay and exits with status 1 so that its "
         "supervisor restarts it"},
        {Kind::SelfCheckNotMade, "self_check_not_made", Level::Error,
         "self-check could not be made; nothing is changed",
         "changes nothing this round and tries again next round"},
        {Kind::SelfAdded, "self_added", Level::Warning, "this host added itself into DNS",
         "keeps checking the set's peers"},
        {Kind::SelfAddFailed, "self_add_failed", Level::Error, "this host could not add itself",
         "tries again next round"},
        {Kind::SelfVanished, "self_vanished", Level::Warning,
         "a concurrent removal took this host's record; it is added back",
         "adds its own record back at once"},
        {Kind::WouldAddSelf, "would_add_self", Level::Warning,
         "dry run: this host would add itself", "nothing (dry run)"},
        {Kind::PeerCheckFailed, "peer_check_failed", Level::Warning, "a peer failed its check",
         "removes the peer unless a safeguard refuses"},
        {Kind::PeerCheckFlaky, "peer_check_flaky", Level::Warning,
         "a peer failed some attempts, then passed", "keeps the peer (it passed)"},
        {Kind::PeerNotJudged, "peer_not_judged", Level::Warning,
         "a peer could not be checked; it is not judged",
         "neither keeps nor removes the peer for it this round (the failure is this host's)"},
        {Kind::PeerRemoving, "peer_removing", Level::Info, "a dead peer is being removed",
         "writes the removal, conditional on a fresh read"},
        {Kind::PeerRemoved, "peer_removed", Level::Error, "a dead peer was removed from DNS",
         "keeps checking the others; the peer's own daemon adds it back when it recovers"},
        {Kind::PeerAlreadyGone, "peer_already_gone", Level::Info,
         "a dead peer was already gone from DNS", "nothing: another daemon removed it"},
        {Kind::WouldRemove, "would_remove", Level::Error, "dry run: a dead peer would be removed",
         "nothing (dry run)"},
        {Kind::RemovalRefused, "removal_refused", Level::Error,
         "a dead peer was not removed: a safeguard refused",
         "leaves the peer in DNS and checks it again next round"},
        {Kind::RemovalFailed, "removal_failed", Level::Error, "removing a dead peer failed",
         "leaves the peer in DNS and checks it again next round"},
        {Kind::WitnessesPassed, "witnesses_passed", Level::Warning,
         "the partition guard tripped, but every witness passed", "removes the dead peers"},
        {Kind::ReadFailed, "read_failed", Level::Error, "the record set could not be read",
         "changes nothing in that set and reads again next round (a failed read is never taken as "
         "an empty set)"},
        {Kind::ProviderError, "provider_error", Level::Debug, "a backend call failed",
         "counts it (autodnsfailover_provider_errors_total); read_failed, self_add_failed or "
         "removal_failed says what it meant"},
        {Kind::WriteConflict, "write_conflict", Level::Warning,
         "the record set changed under a write", "reads the set again and decides anew"},
        {Kind::RoundLate, "round_late", Level::Warning, "a round took longer than the timer allows",
         "starts the next round at once, without catching up missed ones"},
        {Kind::RoundSummary, "round_summary", Level::Info, "what a round changed", "keeps going"},
        {Kind::Heartbeat, "heartbeat", Level::Info, "nothing changed; the daemon is alive",
         "keeps going"},
        {Kind::ErrorOngoing, "error_ongoing", Level::Error, "an error persists",
         "keeps trying every round"},
        {Kind::ErrorResolved, "error_resolved", Level::Warning, "an error ended",
         "goes on as usual"},
        {Kind::NotificationFailed, "notification_failed", Level::Warning,
         "a notification could not be delivered",
         "drops that message (the log and the metrics keep the event)"},
        {Kind::NotificationsDropped, "notifications_dropped", Level::Warning,
         "the notification queue was full; messages were dropped",
         "drops the oldest waiting messages"},
        {Kind::RemovalConfirmed, "removal_confirmed", Level::Info,
         "the other observers agree that a dead peer is dead", "removes it (under every safeguard)"},
        {Kind::AgreementFallback, "agreement_fallback", Level::Warning,
         "no other observer gave a verdict: the single-observer rule decides",
         "removes by its own checks and the partition guard, as without peers (said once)"},
        {Kind::SelfFenced, "self_fenced", Level::Error,
         "a majority of the peers cannot reach this host",
         "stays out of DNS and asks again every round; re-adds itself once they agree"},
    };
    return kinds;
}

const KindInfo &info(Kind kind) {
    const auto &kinds = catalogue();
    const auto index = static_cast<size_t>(kind);
    if (index >= kinds.size() || kinds[index].kind != kind)
        throw std::logic_error("events::catalogue() is out of step with events::Kind");
    return kinds[index];
}

const char *name(Kind kind) { return info(kind).name; }

std::optional<Kind> kind_named(std::string_view wanted) {
    for (const auto &k : catalogue())
        if (wanted == k.name) return k.kind;
    return std::nullopt;
}

const char *refusal_name(Refusal refusal) {
    switch (refusal) {
        case Refusal::None: return "";
        case Refusal::PartitionGuard: return "partition_guard";
        case Refusal::MinRecords: return "min_records";
        case Refusal::LastRecord: return "last_record";
        case Refusal::RoundLimit: return "round_limit";
        case Refusal::NotConfirmed: return "not_confirmed";
        case Refusal::Isolated: return "isolated";
    }
    return "";
}

Event make(Kind kind, std::string message) {
    Event event;
    event.kind = kind;
    event.level = info(kind).level;
    event.message = std::move(message);
    return event;
}

log::Fields log_fields(const Event &event) {
    log::Fields fields{event.fqdn,   event.peer,       event.plugin,
                       event.reason, name(event.kind), event.family};
    return fields;
}

}  // namespace adf::events
