// The daemon's logger: text lines with timestamps or JSON lines, to stderr or
// syslog. Every message may carry the fqdn, peer, plugin and reason it is
// about, so an SRE can grep for one peer or one name.
#pragma once

#include <string>
#include <string_view>

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
    std::string fqdn;
    std::string peer;
    std::string plugin;
    std::string reason;
};

// Replaces the logger's options (safe to call again on reload).
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

// "debug", "info", "warning", "error", "critical" (and back).
const char *level_name(Level level);
bool parse_level(std::string_view name, Level &level);

}  // namespace adf::log
