// What the daemon does, as typed events. The loop emits every event in one
// place (events::Events, events.h); each has a stable name, the same in JSON
// log lines ("event"), webhook payloads ("event"), e-mails and metrics, so
// an operator's alert rules, log queries and receivers agree. The names are
// an interface: add new ones, never rename one (README "Events" lists them).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "logging/log.h"
#include "util/clock.h"

namespace adf::events {

enum class Kind {
    Started,            // the daemon runs: plugins, names
    Stopping,           // a stop signal arrived
    ConfigReloaded,     // SIGHUP: the new configuration runs
    ReloadRefused,      // SIGHUP: the new configuration was refused, the old one runs
    OwnAddress,         // the own address of a family, first seen
    OwnAddressChanged,  // the own address of a family changed
    OwnAddressFailed,   // the ipaddr plugin could not tell the own address
    SelfCheckFailed,    // the own address failed its check: the daemon exits (status 1)
    SelfCheckNotMade,   // the self-check could not be made (host fault): nothing is changed
    SelfAdded,          // this host added its own record (start, or recovery)
    SelfAddFailed,      // this host could not add its own record
    SelfVanished,       // a concurrent removal took this host's record; it is added back
    WouldAddSelf,       // dry run: the own record would be added
    PeerCheckFailed,    // a peer failed every attempt of its check
    PeerCheckFlaky,     // a peer failed some attempts, then passed
    PeerNotJudged,      // a peer's check could not be made (host fault)
    PeerRemoving,       // a dead peer is about to be removed (the write follows)
    PeerRemoved,        // a dead peer was removed from DNS
    PeerAlreadyGone,    // a dead peer was gone from DNS when its removal came
    WouldRemove,        // dry run: a dead peer would be removed
    RemovalRefused,     // a dead peer stays: a safeguard refused (see Refusal)
    RemovalFailed,      // the removal's write failed
    WitnessesPassed,    // the partition guard tripped, but every witness passed
    ReadFailed,         // a record set could not be read (provider or DNS servers)
    ProviderError,      // one failed backend call (debug: read_failed etc. say what it meant)
    WriteConflict,      // a conditional write found the set changed under it
    RoundLate,          // a round took longer than the timer allows
    RoundSummary,       // a round that changed something, in one line
    Heartbeat,          // nothing changed for a while: the daemon is alive
    ErrorOngoing,       // a persistent error, summarised ("still failing for 10 min")
    ErrorResolved,      // a persistent error ended
    NotificationFailed,    // a notification could not be delivered (after its retries)
    NotificationsDropped,  // the notification queue was full: messages were dropped
    RemovalConfirmed,      // peers: the other observers agree that a dead peer goes
    AgreementFallback,     // peers: no evidence from the others; the single-observer rule decides
    SelfFenced,            // peers: a majority sees this host dead; it does not re-add itself
};

// Why a dead peer was not removed (removal_refused's "refusal").
// NotConfirmed: the other observers see it alive (peers); Isolated: this
// host reaches none of them, so it is the likelier one cut off (peers).
enum class Refusal { None, PartitionGuard, MinRecords, LastRecord, RoundLimit, NotConfirmed, Isolated };

// "partition_guard", "min_records", "last_record", "round_limit",
// "not_confirmed", "isolated" ("" for None).
const char *refusal_name(Refusal refusal);

struct KindInfo {
    Kind kind;
    const char *name;    // the stable name: "peer_removed"
    log::Level level;    // the level it is logged and notified at
    const char *summary;  // what happened, in a few words (README, notifications)
    const char *action;   // what the daemon does about it (the e-mail's "What it does")
};

// Every kind, in declaration order.
const std::vector<KindInfo> &catalogue();
const KindInfo &info(Kind kind);
const char *name(Kind kind);
std::optional<Kind> kind_named(std::string_view name);

struct Event {
    Kind kind = Kind::Started;
    log::Level level = log::Level::Info;  // the kind's level unless the emitter says otherwise
    Stamp time;                           // set by Events::emit when left unset
    std::string message;                  // the log line's text: what happened, in a sentence
    std::string fqdn;
    int family = 0;  // 4 or 6 when it is about one record set
    std::string peer;
    std::string plugin;
    std::string reason;  // the check's, the provider's or the safeguard's words
    // The record set around a change: before it and after it (or as read,
    // when nothing changed), so that a notification says what DNS holds.
    std::optional<std::vector<std::string>> set_before;
    std::optional<std::vector<std::string>> set_after;
    Refusal refusal = Refusal::None;
    std::string operation;      // provider calls: "read", "add", "remove"
    std::string status;         // provider calls: plugin status name ("transient", "failed"...)
    // error_ongoing / error_resolved: the persistent error they are about.
    std::optional<Kind> about;
    log::Level about_level = log::Level::Info;
    size_t repeats = 0;    // rounds (or occurrences) it lasted so far
    double since_wall = 0;  // when it started (wall clock)
    double lasted = 0;      // seconds it lasted so far
};

// An event of `kind` at the kind's level.
Event make(Kind kind, std::string message);

// The fields of its log line.
log::Fields log_fields(const Event &event);

}  // namespace adf::events
