// The daemon's logger: text lines with timestamps or JSON lines, to stderr or
// syslog. Every message may carry the fqdn, peer, plugin and reason it is
// about, so an SRE can grep for one peer or one name, and JSON lines carry a
// stable `event` name (events/event.h: the same names as in notifications
// and metrics). When stderr is the systemd journal (JOURNAL_STREAM names it),
// each line starts with its syslog priority ("<3>"), so `journalctl -p err`
// selects by level, and text lines leave the timestamp to the journal.
#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace adf::log {

enum class Level { Debug = 0, Info = 1, Warning = 2, Error = 3, Critical = 4 };
enum class Format { Text, Json };
enum class Target { Stderr, Syslog };

struct Options {
    Level level = Level::Info;
    Format format = Format::Text;
    Target target = Target::Stderr;
    std::string syslog_identity = "autodnsfailover";
    int fd = 2;  // where stderr-target lines go (tests point it at a pipe)
};

// What a message is about; empty fields are left out of the line.
struct Fields {
    // A constructor rather than an aggregate, so that callers name only the
    // leading fields they have: {fqdn, peer, plugin, reason}.
    Fields(std::string fqdn_ = "", std::string peer_ = "", std::string plugin_ = "",
           std::string reason_ = "", std::string event_ = "", int family_ = 0)
        : fqdn(std::move(fqdn_)),
          peer(std::move(peer_)),
          plugin(std::move(plugin_)),
          reason(std::move(reason_)),
          event(std::move(event_)),
          family(family_) {}
    std::string fqdn;
    std::string peer;
    std::string plugin;
    std::string reason;
    // The stable event name (JSON lines; "message" when empty: a line that
    // is no event of the round, e.g. at start-up).
    std::string event;
    int family = 0;  // 4 or 6 when the line is about one record set's family
};

// Replaces the logger's options (safe to call again on reload). Looks at
// JOURNAL_STREAM again, too.
void configure(const Options &options);
const Options &options();

// Writes one line (one write(2) call, so lines from forked check children
// never interleave) when `level` is at or above the configured level.
void write(Level level, std::string_view message, const Fields &fields = {});

inline void debug(std::string_view m, const Fields &f = {}) { write(Level::Debug, m, f); }
inline void info(std::string_view m, const Fields &f = {}) { write(Level::Info, m, f); }
inline void warning(std::string_view m, const Fields &f = {}) { write(Level::Warning, m, f); }
inline void error(std::string_view m, const Fields &f = {}) { write(Level::Error, m, f); }
inline void critical(std::string_view m, const Fields &f = {}) { write(Level::Critical, m, f); }

// Whether stderr lines carry syslog priority prefixes (the journal).
bool journal_prefixes();

// "debug", "info", "warning", "error", "critical" (and back).
const char *level_name(Level level);
bool parse_level(std::string_view name, Level &level);

}  // namespace adf::log
