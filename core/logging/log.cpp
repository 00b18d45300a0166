#include "logging/log.h"

#include <poll.h>
#include <pthread.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/text.h"

namespace adf::log {
namespace {

Options g_options;
// Checked without the lock, so dropped messages cost one atomic load.
std::atomic<int> g_min_level{static_cast<int>(Level::Info)};
// openlog() keeps the pointer it is given: the identity must outlive it.
std::string g_syslog_identity;
bool g_syslog_open = false;
bool g_journal = false;  // stderr lines get "<N>" priority prefixes
std::mutex g_mutex;

// A child forked while another thread held the lock would deadlock on its
// first log line: hold the lock across fork() and release it on both sides.
void lock_for_fork() { g_mutex.lock(); }
void unlock_after_fork() { g_mutex.unlock(); }
const bool g_fork_handlers_installed =
    pthread_atfork(lock_for_fork, unlock_after_fork, unlock_after_fork) == 0;

const char *const kLevelNames[] = {"debug", "info", "warning", "error", "critical"};
const char *const kUpperLevelNames[] = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"};

int level_index(Level level) {
    int index = static_cast<int>(level);
    return index < 0 ? 0 : index > 4 ? 4 : index;
}

int syslog_priority(Level level) {
    switch (level) {
        case Level::Debug: return LOG_DEBUG;
        case Level::Info: return LOG_INFO;
        case Level::Warning: return LOG_WARNING;
        case Level::Error: return LOG_ERR;
        case Level::Critical: return LOG_CRIT;
    }
    return LOG_ERR;
}

// systemd sets JOURNAL_STREAM to "DEVICE:INODE" of the stream it connected
// to stdout/stderr; `fd` is the journal when it is that very stream (not
// when the daemon's stderr was redirected elsewhere by a wrapper).
bool is_journal_stream(int fd) {
    const char *stream = std::getenv("JOURNAL_STREAM");
    if (stream == nullptr) return false;
    unsigned long long device = 0, inode = 0;
    if (std::sscanf(stream, "%llu:%llu", &device, &inode) != 2) return false;
    struct stat info {};
    if (fstat(fd, &info) != 0) return false;
    return static_cast<unsigned long long>(info.st_dev) == device &&
           static_cast<unsigned long long>(info.st_ino) == inode;
}

std::string utc_timestamp() { return iso_utc(wall_now()); }

bool needs_quotes(std::string_view value) {
    for (char c : value) {
        auto u = static_cast<unsigned char>(c);
        if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20 || u == 0x7f) return true;
    }
    return false;
}

void append_field(std::string &out, const char *key, const std::string &value) {
    if (value.empty()) return;
    out += ' ';
    out += key;
    out += '=';
    if (!needs_quotes(value)) {
        out += value;
        return;
    }
    out += '"';
    text::append_printable(out, value, /*escape_quotes=*/true);
    out += '"';
}

// "WARNING peer 127.0.0.12 seems dead fqdn=... peer=..." (the level padded
// so messages line up; CRITICAL is one wider).
std::string text_body(Level level, std::string_view message, const Fields &fields) {
    std::string out = fmt::format("{:<7} ", kUpperLevelNames[level_index(level)]);
    // Control characters become escapes, so one event is always one line and
    // a peer's error text cannot drive the operator's terminal.
    text::append_printable(out, message);
    append_field(out, "fqdn", fields.fqdn);
    append_field(out, "peer", fields.peer);
    append_field(out, "plugin", fields.plugin);
    append_field(out, "reason", fields.reason);
    return out;
}

std::string json_line(Level level, std::string_view message, const Fields &fields,
                      bool with_time) {
    nlohmann::ordered_json line;
    if (with_time) line["time"] = utc_timestamp();
    line["level"] = level_name(level);
    line["event"] = fields.event.empty() ? "message" : fields.event;
    line["message"] = std::string(message);
    if (!fields.fqdn.empty()) line["fqdn"] = fields.fqdn;
    if (fields.family != 0) line["family"] = fields.family;
    if (!fields.peer.empty()) line["peer"] = fields.peer;
    if (!fields.plugin.empty()) line["plugin"] = fields.plugin;
    if (!fields.reason.empty()) line["reason"] = fields.reason;
    line["pid"] = static_cast<long>(getpid());
    // Plugins may hand us bytes that are not UTF-8: replace, never throw.
    return line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

// One write(2) for the whole line (so concurrent writers on the same fd
// never interleave within a line), finishing partial writes.
void write_all(int fd, const std::string &line) {
    size_t done = 0;
    while (done < line.size()) {
        ssize_t n = ::write(fd, line.data() + done, line.size() - done);
        if (n > 0) {
            done += size_t(n);
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            pollfd wait{fd, POLLOUT, 0};
            if (poll(&wait, 1, 1000) <= 0) return;  // a stuck reader must not stop the daemon
        } else {
            // Nowhere left to report a failing log target; the daemon goes on.
            return;
        }
    }
}

void close_syslog() {
    if (g_syslog_open) closelog();
    g_syslog_open = false;
}

}  // namespace

void configure(const Options &options) {
    std::lock_guard<std::mutex> lock(g_mutex);
    close_syslog();
    g_options = options;
    g_min_level.store(static_cast<int>(options.level), std::memory_order_relaxed);
    g_journal = options.target == Target::Stderr && is_journal_stream(options.fd);
    if (options.target == Target::Syslog) {
        g_syslog_identity = options.syslog_identity;
        openlog(g_syslog_identity.c_str(), LOG_PID, LOG_DAEMON);
        g_syslog_open = true;
    }
}

const Options &options() { return g_options; }

void write(Level level, std::string_view message, const Fields &fields) {
    if (static_cast<int>(level) < g_min_level.load(std::memory_order_relaxed)) return;
    int saved_errno = errno;  // callers often log right before reporting errno
    std::lock_guard<std::mutex> lock(g_mutex);
    if (g_options.target == Target::Syslog) {
        std::string body = g_options.format == Format::Json
                               ? json_line(level, message, fields, /*with_time=*/false)
                               : text_body(level, message, fields);
        syslog(syslog_priority(level), "%s", body.c_str());
    } else {
        // The journal stamps each line itself: text lines leave the time out.
        std::string line = g_journal ? fmt::format("<{}>", syslog_priority(level)) : "";
        if (g_options.format == Format::Json)
            line += json_line(level, message, fields, /*with_time=*/true);
        else
            line += (g_journal ? "" : utc_timestamp() + " ") + text_body(level, message, fields);
        line += '\n';
        write_all(g_options.fd, line);
    }
    errno = saved_errno;
}

bool journal_prefixes() {
    std::lock_guard<std::mutex> lock(g_mutex);
    return g_journal;
}

const char *level_name(Level level) { return kLevelNames[level_index(level)]; }

bool parse_level(std::string_view name, Level &level) {
    for (int i = 0; i < 5; ++i) {
        std::string_view candidate = kLevelNames[i];
        if (candidate.size() != name.size()) continue;
        bool same = true;
        for (size_t j = 0; j < name.size() && same; ++j)
            same = std::tolower(static_cast<unsigned char>(name[j])) == candidate[j];
        if (same) {
            level = static_cast<Level>(i);
            return true;
        }
    }
    return false;
}

}  // namespace adf::log
