// `autodnsfailover plugin-test PLUGIN.so [-c SECTION.json]`: loads one
// plugin and exercises its contract as plugin.h states it, calling it the
// way the host does (create on the main thread, dns/ipaddr/timer calls in
// process, each check in a forked child of its own process group), and
// prints one line per rule: "ok", "FAIL" (a rule of plugin.h does not hold:
// exit status 1), "warn" (a recommendation), "skip" (not testable with the
// options given). Setup problems (usage, the plugin refused, its section
// refused, a scratch name in use) exit 2, like every other command.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <autodnsfailover/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include "cli/commands.h"
#include "cli/process_state.h"
#include "config/config.h"
#include "isolation/check_child.h"
#include "plugin/kinds.h"
#include "util/clock.h"
#include "util/exit_codes.h"

namespace adf::cli {
namespace {

// create() runs at start, at check-config and on every reload, on the
// daemon's main thread: plugin.h asks it to return within a second.
constexpr double kCreateBudget = 1.0;
// How long past its timeout a check may run before plugin-test kills it
// (the host kills at the timeout itself; this only bounds the test).
constexpr double kCheckGrace = 1.0;

// The lines plugin-test prints, and the exit status they add up to.
class Report {
   public:
    void ok(const std::string &text) {
        line("ok", text);
        ++held_;
    }
    void fail(const std::string &text) {
        line("FAIL", text);
        ++failed_;
    }
    void warn(const std::string &text) {
        line("warn", text);
        ++warnings_;
    }
    void skip(const std::string &text) { line("skip", text); }
    void info(const std::string &text) { line("", text); }
    // ok(holds_text) when `holds`, else fail(fails_text).
    void rule(bool holds, const std::string &holds_text, const std::string &fails_text) {
        holds ? ok(holds_text) : fail(fails_text);
    }
    int finish() const {
        fmt::print("result: {} rule(s) hold, {} fail, {} warning(s)\n", held_, failed_, warnings_);
        return failed_ == 0 ? kExitOk : kExitSelfCheckFailed;
    }

   private:
    static void line(const char *tag, const std::string &text) {
        fmt::print("  {:<5} {}\n", tag, text);
        std::fflush(stdout);
    }
    int held_ = 0, failed_ = 0, warnings_ = 0;
};

// A setup problem: printed as an error, exit status 2.
struct SetupError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

std::string seconds(double s) { return fmt::format("{:.2f} s", s); }

nlohmann::json read_section(const std::string &path) {
    if (path.empty()) return nlohmann::json::object();
    std::ifstream file(path);
    if (!file) throw SetupError(fmt::format("{}: cannot read: {}", path, std::strerror(errno)));
    std::stringstream text;
    text << file.rdbuf();
    adf::json::ParseOptions options;
    options.allow_comments = true;
    adf::Result<nlohmann::json> parsed = adf::json::parse(text.str(), options);
    if (!parsed) throw SetupError(fmt::format("{}:{}", path, parsed.reason()));
    if (!parsed->is_object())
        throw SetupError(path + ": expected a JSON object: the plugin's section of a config");
    nlohmann::json settings = *parsed;
    settings.erase("plugin");  // the section as the config holds it, "plugin" and all
    return settings;
}

// Threads and descriptors of this process, to compare across plugin calls.
struct Snapshot {
    size_t threads = thread_count();
    std::vector<OpenFd> fds = open_fds();
};

// The rules every call of a plugin in the host's process keeps: no thread
// left running (the host forks), every descriptor kept open close-on-exec
// (check children inherit them, and the programs those run).
void check_hygiene(Report &report, const Snapshot &before, const std::string &what) {
    const Snapshot after;
    report.rule(after.threads <= before.threads,
                what + " left no thread running",
                fmt::format("{} left {} thread(s) running: the host forks check children, and a "
                            "thread that holds a lock at fork() deadlocks them",
                            what, after.threads - before.threads));
    std::vector<OpenFd> inherited;
    for (const auto &fd : fds_added(before.fds, after.fds))
        if (!fd.cloexec) inherited.push_back(fd);
    report.rule(inherited.empty(), what + ": every descriptor it keeps open is close-on-exec",
                fmt::format("{} keeps descriptor(s) without FD_CLOEXEC: {}: every program a "
                            "check runs inherits them",
                            what, describe(inherited)));
}

// ------------------------------------------------------------------- dns

const char *const kA[] = {"192.0.2.1", "192.0.2.2", "192.0.2.3"};
const char *const kAAAA[] = {"2001:db8::1", "2001:db8::2"};
const char *const kNote = "plugin-test note";

class DnsTest {
   public:
    DnsTest(plugin::DnsBackend &dns, std::string name, Report &report)
        : dns_(dns), name_(std::move(name)), report_(report) {}

    void run() {
        require_unused(4);
        require_unused(6);
        if (exercise_a() && exercise_aaaa()) last_record();
        repeated_reads();
        clean_up();
    }

   private:
    using Records = std::vector<plugin::ReadRecord>;

    static std::string text(const Records &records) {
        std::string out;
        for (const auto &r : records) out += (out.empty() ? "" : " ") + r.address.text();
        return out.empty() ? "(empty)" : out;
    }

    static plugin::ReadRecord record(const char *address, uint32_t ttl, const std::string &note) {
        return {*parse_address(address), ttl, note};
    }

    static Records records(std::initializer_list<const char *> addresses, uint32_t ttl) {
        Records out;
        for (const char *a : addresses) out.push_back(record(a, ttl, ""));
        std::sort(out.begin(), out.end(),
                  [](const auto &x, const auto &y) { return x.address < y.address; });
        return out;
    }

    static bool same_addresses(const Records &a, const Records &b) { return text(a) == text(b); }

    std::string set_name(int family) const { return name_ + " " + record_type(family); }

    std::optional<Records> read(int family) {
        const auto result = dns_.read(name_, family);
        if (result.ok()) return result.records;
        report_.fail(fmt::format("read {}: {}: {}", set_name(family),
                                 plugin::status_name(result.status), result.error));
        return std::nullopt;
    }

    void require_unused(int family) {
        const auto result = dns_.read(name_, family);
        if (!result.ok())
            throw SetupError(fmt::format("read {}: {}: {}", set_name(family),
                                         plugin::status_name(result.status), result.error));
        if (!result.records.empty())
            throw SetupError(fmt::format("{} has records ({}): give --name a name nobody uses; "
                                         "plugin-test adds and removes records there",
                                         set_name(family), text(result.records)));
    }

    // A change that must succeed, and the set it must leave.
    bool change_ok(const std::string &what, const plugin::Outcome &outcome, int family,
                   const Records &want) {
        if (!outcome.ok()) {
            report_.fail(fmt::format("{}: {}: {}", what, plugin::status_name(outcome.status),
                                     outcome.error));
            return false;
        }
        const auto now = read(family);
        if (!now) return false;
        report_.rule(same_addresses(*now, want), what + ": ok, and a read shows it",
                     fmt::format("{}: said ok, but {} reads {} (expected {})", what,
                                 set_name(family), text(*now), text(want)));
        return same_addresses(*now, want);
    }

    // A change against a stale expected set: ADF_CONFLICT, nothing changed.
    void conflict(const std::string &what, const plugin::Outcome &outcome, int family,
                  const Records &unchanged) {
        const auto now = read(family);
        const bool kept = now && same_addresses(*now, unchanged);
        report_.rule(outcome.status == ADF_CONFLICT && kept,
                     what + ": conflict, nothing changed",
                     fmt::format("{}: returned {}{} and {}; it must return conflict and change "
                                 "nothing",
                                 what, plugin::status_name(outcome.status),
                                 outcome.error.empty() ? "" : " (" + outcome.error + ")",
                                 !now ? "the set cannot be read"
                                 : kept ? "left the set alone"
                                        : "the set is now " + text(*now)));
    }

    bool exercise_a() {
        const auto first = record(kA[0], 0, dns_.has_notes() ? kNote : "");
        if (!change_ok(fmt::format("add {} to the empty {}", kA[0], set_name(4)),
                       dns_.add(name_, 4, {}, first), 4, records({kA[0]}, 0)))
            return false;
        const auto now = read(4);
        if (!now) return false;
        ttl_ = now->front().ttl;
        report_.rule(ttl_ > 0, fmt::format("a new set gets the configured TTL ({} s)", ttl_),
                     "a new set was given TTL 0: record->ttl 0 means \"use your default\"");
        if (dns_.has_notes())
            report_.rule(now->front().note == kNote, "the note is kept (ADF_DNS_NOTES)",
                         fmt::format("claims ADF_DNS_NOTES, but the note reads \"{}\", not \"{}\"",
                                     now->front().note, kNote));
        else
            report_.skip("notes: the plugin does not claim ADF_DNS_NOTES");

        if (!change_ok(fmt::format("add {} to {} {{{}}}", kA[1], set_name(4), kA[0]),
                       dns_.add(name_, 4, records({kA[0]}, ttl_), record(kA[1], ttl_, "")), 4,
                       records({kA[0], kA[1]}, ttl_)))
            return false;
        if (const auto both = read(4)) {
            const bool one_ttl = std::all_of(both->begin(), both->end(),
                                             [&](const auto &r) { return r.ttl == ttl_; });
            report_.rule(one_ttl, "the set keeps one TTL",
                         "the records of one set have different TTLs (RFC 2181 forbids it)");
        }

        conflict(fmt::format("add {} expecting the stale {{{}}}", kA[2], kA[0]),
                 dns_.add(name_, 4, records({kA[0]}, ttl_), record(kA[2], ttl_, "")), 4,
                 records({kA[0], kA[1]}, ttl_));
        conflict(fmt::format("remove {} expecting the stale {{{} {}}}", kA[0], kA[0], kA[2]),
                 dns_.remove(name_, 4, records({kA[0], kA[2]}, ttl_), *parse_address(kA[0])), 4,
                 records({kA[0], kA[1]}, ttl_));
        return change_ok(fmt::format("remove {} from {{{} {}}}", kA[1], kA[0], kA[1]),
                         dns_.remove(name_, 4, records({kA[0], kA[1]}, ttl_),
                                     *parse_address(kA[1])),
                         4, records({kA[0]}, ttl_));
    }

    bool exercise_aaaa() {
        if (!change_ok(fmt::format("add {} to the empty {}", kAAAA[0], set_name(6)),
                       dns_.add(name_, 6, {}, record(kAAAA[0], 0, "")), 6,
                       records({kAAAA[0]}, 0)))
            return false;
        const auto set = read(6);
        if (!set) return false;
        const uint32_t ttl = set->front().ttl;
        if (!change_ok(fmt::format("add {} to {}", kAAAA[1], set_name(6)),
                       dns_.add(name_, 6, records({kAAAA[0]}, ttl), record(kAAAA[1], ttl, "")),
                       6, records({kAAAA[0], kAAAA[1]}, ttl)))
            return false;
        const auto a = read(4);
        report_.rule(a && same_addresses(*a, records({kA[0]}, ttl_)),
                     "changes to AAAA leave the A set alone",
                     "changing the AAAA set changed the A set: it is now " +
                         (a ? text(*a) : std::string("unreadable")));
        return change_ok(fmt::format("remove {} from {}", kAAAA[1], set_name(6)),
                         dns_.remove(name_, 6, records({kAAAA[0], kAAAA[1]}, ttl),
                                     *parse_address(kAAAA[1])),
                         6, records({kAAAA[0]}, ttl));
    }

    void last_record() {
        const auto outcome = dns_.remove(name_, 4, records({kA[0]}, ttl_), *parse_address(kA[0]));
        const auto now = read(4);
        if (!outcome.ok() && now && same_addresses(*now, records({kA[0]}, ttl_)))
            report_.ok("refuses to remove the last record (" + outcome.error + ")");
        else if (outcome.ok())
            report_.warn("removed the last record when asked: the host never asks, but a "
                         "refusal is a second safeguard against emptying a pool");
        else
            report_.fail(fmt::format("asked to remove the last record, it returned {} and the "
                                     "set is now {}",
                                     plugin::status_name(outcome.status),
                                     now ? text(*now) : std::string("unreadable")));
    }

    // Descriptors must not pile up from one call to the next.
    void repeated_reads() {
        if (!read(4)) return;
        const size_t before = open_fds().size();
        for (int i = 0; i < 5; ++i)
            if (!read(4)) return;
        const size_t after = open_fds().size();
        report_.rule(after <= before, "five more reads open no more descriptors",
                     fmt::format("five more reads left {} more descriptor(s) open: a leak",
                                 after - before));
    }

    // Removes what the test left, as far as the plugin lets it.
    void clean_up() {
        std::vector<std::string> left;
        for (int family : {4, 6}) {
            auto set = dns_.read(name_, family);
            while (set.ok() && !set.records.empty()) {
                const Address address = set.records.back().address;
                if (!dns_.remove(name_, family, set.records, address).ok()) break;
                set = dns_.read(name_, family);
            }
            if (set.ok() && !set.records.empty())
                left.push_back(set_name(family) + " " + text(set.records));
        }
        if (!left.empty()) {
            std::string joined;
            for (const auto &l : left) joined += (joined.empty() ? "" : "; ") + l;
            report_.info("left on the scratch name (the plugin refuses to remove a last "
                         "record): " + joined);
        }
    }

    plugin::DnsBackend &dns_;
    const std::string name_;
    Report &report_;
    uint32_t ttl_ = 0;
};

// ----------------------------------------------------------------- check

// What one check() call in a forked child did, as the child saw it.
struct ChildReport {
    int status = ADF_FAILED;
    double elapsed = 0;
    size_t threads_left = 0;
    char reason[1024] = {0};
    char fds_left[1024] = {0};
    char processes_left[1024] = {0};
};

struct CheckCall {
    bool returned = false;  // check() returned in the child (it did not exec or crash)
    bool killed = false;    // still running kCheckGrace after its timeout
    int wait_status = 0;    // of the child
    ChildReport child;
    std::vector<std::string> orphans;  // left in its process group after the child ended
};

void copy_text(char *to, size_t size, const std::string &text) {
    std::snprintf(to, size, "%s", text.c_str());
}

std::string joined(const std::vector<std::string> &items) {
    std::string out;
    for (const auto &item : items) out += (out.empty() ? "" : ", ") + item;
    return out;
}

// In the child, set up as the host's check children are: one check(), and
// a report of what it left behind.
[[noreturn]] void check_in_child(plugin::Checker &checker, const Address &address,
                                 double timeout, int report_fd) {
    isolation::enter_check_child();
    const Snapshot before;
    const double start = monotonic_now();
    const plugin::Outcome outcome = checker.check_here(address, timeout);
    ChildReport report;
    report.elapsed = monotonic_now() - start;
    report.status = outcome.status;
    report.threads_left = thread_count() - before.threads;
    copy_text(report.reason, sizeof report.reason, outcome.error);
    copy_text(report.fds_left, sizeof report.fds_left, describe(fds_added(before.fds, open_fds())));
    copy_text(report.processes_left, sizeof report.processes_left,
              joined(processes_in_group(getpid(), getpid())));
    ssize_t ignored = write(report_fd, &report, sizeof report);
    (void)ignored;
    _exit(0);
}

CheckCall run_check(plugin::Checker &checker, const Address &address, double timeout) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw SetupError(std::string("pipe: ") + std::strerror(errno));
    const pid_t pid = fork();
    if (pid < 0) throw SetupError(std::string("fork: ") + std::strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        check_in_child(checker, address, timeout, fds[1]);
    }
    setpgid(pid, pid);
    close(fds[1]);
    CheckCall call;
    const double deadline = monotonic_now() + timeout + kCheckGrace;
    size_t got = 0;
    auto *bytes = reinterpret_cast<char *>(&call.child);
    while (got < sizeof call.child) {
        const double left = deadline - monotonic_now();
        pollfd p{fds[0], POLLIN, 0};
        if (left <= 0 || poll(&p, 1, static_cast<int>(left * 1000) + 1) == 0) {
            call.killed = true;
            break;
        }
        const ssize_t n = read(fds[0], bytes + got, sizeof call.child - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;  // exec'd, crashed or exited without a report
        got += static_cast<size_t>(n);
    }
    close(fds[0]);
    call.returned = got == sizeof call.child;
    if (call.killed) kill(-pid, SIGKILL);
    while (waitpid(pid, &call.wait_status, 0) < 0 && errno == EINTR) {
    }
    call.orphans = processes_in_group(pid, -1);
    kill(-pid, SIGKILL);  // as the host does after every check
    return call;
}

std::string signal_text(int sig) { return fmt::format("signal {} ({})", sig, strsignal(sig)); }

// The rules of one check() call; `silent`: the address never answers.
void judge_check(Report &report, const std::string &address, const CheckCall &call,
                 double timeout, bool silent) {
    const std::string what = "check " + address;
    if (call.killed) {
        report.fail(fmt::format("{} did not return within its timeout of {}: still running {} "
                                "later (the host kills it at {} and logs only \"timed out\")",
                                what, seconds(timeout), seconds(kCheckGrace), seconds(timeout)));
        return;
    }
    if (!call.returned) {
        if (WIFSIGNALED(call.wait_status)) {
            report.fail(fmt::format("{} crashed: killed by {}", what,
                                    signal_text(WTERMSIG(call.wait_status))));
        } else {
            const int code = WIFEXITED(call.wait_status) ? WEXITSTATUS(call.wait_status) : -1;
            report.info(fmt::format("{}: replaced itself with a program (execve), which exited "
                                    "with status {}: {}",
                                    what, code, code == 0 ? "alive" : "dead"));
            report.skip(what + ": what an exec'd program leaves is the host's to clean up");
        }
        return;
    }
    const ChildReport &c = call.child;
    const bool alive = c.status == ADF_OK;
    report.info(fmt::format("{}: {} in {}{}", what, alive ? "alive" : "dead", seconds(c.elapsed),
                            alive ? "" : fmt::format(" ({})", c.reason)));
    report.rule(c.elapsed <= timeout, fmt::format("{} returned within its timeout", what),
                fmt::format("{} returned after {}, past its timeout of {}: the host would have "
                            "killed it",
                            what, seconds(c.elapsed), seconds(timeout)));
    if (!alive)
        report.rule(c.reason[0] != '\0' && std::string(c.reason) != plugin::status_name(c.status),
                    what + ": dead, with a reason", what + " said dead without set_error(): the "
                                                           "log cannot say why");
    if (silent)
        report.rule(!alive, fmt::format("{} (silent) is dead", what),
                    fmt::format("{} says the silent address {} is alive", what, address));
    report.rule(c.threads_left == 0, what + " left no thread running",
                fmt::format("{} left {} thread(s) running when it returned", what,
                            c.threads_left));
    report.rule(c.fds_left[0] == '\0', what + " closed every descriptor it opened",
                fmt::format("{} left descriptors open: {}", what, c.fds_left));
    std::string processes = c.processes_left;
    if (processes.empty()) processes = joined(call.orphans);
    report.rule(processes.empty(), what + " left no process behind",
                fmt::format("{} left process(es) running in its process group: {}", what,
                            processes));
}

void test_check(plugin::Checker &checker, const PluginTestRequest &r, Report &report) {
    std::vector<std::string> addresses = r.addresses;
    if (addresses.empty()) addresses.push_back("127.0.0.1");
    auto parsed = [](const std::string &text, const char *option) {
        const auto address = parse_address(text);
        if (!address) throw SetupError(fmt::format("{} \"{}\" is not an IP address", option, text));
        return *address;
    };
    for (const auto &text : addresses)
        judge_check(report, text, run_check(checker, parsed(text, "--address"), r.timeout),
                    r.timeout, false);
    if (r.silent_address.empty()) {
        report.skip("timeout respect on a silent peer: give --silent-address, an address that "
                    "drops every packet");
        return;
    }
    judge_check(report, r.silent_address,
                run_check(checker, parsed(r.silent_address, "--silent-address"), r.timeout),
                r.timeout, true);
}

// ---------------------------------------------------------- ipaddr, timer

void test_ipaddr(plugin::Instance &instance, Report &report) {
    const auto *ops = static_cast<const adf_ipaddr_ops *>(instance.descriptor().ops);
    int answered = 0;
    for (int family : {4, 6}) {
        // The buffer is ADF_ADDRESS_MAX bytes; a guard zone after it shows
        // writes past buffer_size.
        char buffer[2 * ADF_ADDRESS_MAX];
        std::memset(buffer, 0x5a, sizeof buffer);
        instance.set_context({});
        const int status = ops->own_address(instance.handle(), family, buffer, ADF_ADDRESS_MAX);
        const std::string error = instance.take_error();
        const bool in_bounds = std::all_of(buffer + ADF_ADDRESS_MAX, buffer + sizeof buffer,
                                           [](char c) { return c == 0x5a; });
        report.rule(in_bounds, fmt::format("own_address({}) wrote within buffer_size", family),
                    fmt::format("own_address({}) wrote past buffer_size ({} bytes)", family,
                                ADF_ADDRESS_MAX));
        const std::string kind = fmt::format("own IPv{} address", family);
        if (status == ADF_ABSENT) {
            report.ok(kind + ": absent (no record of this family will be managed)");
            continue;
        }
        if (status != ADF_OK) {
            report.fail(fmt::format("{}: {}: {}", kind, plugin::status_name(status), error));
            continue;
        }
        const bool terminated = std::memchr(buffer, '\0', ADF_ADDRESS_MAX) != nullptr;
        const auto address = terminated ? parse_address(buffer, family) : std::nullopt;
        report.rule(address.has_value(), fmt::format("{}: {}", kind, terminated ? buffer : ""),
                    terminated ? fmt::format("{}: \"{}\" is not an IPv{} address", kind,
                                             std::string(buffer).substr(0, 60), family)
                               : kind + ": not NUL-terminated within the buffer");
        answered += address.has_value();
    }
    report.rule(answered > 0, "an address of at least one family",
                "no address of either family: the daemon would manage no record");
}

void test_timer(plugin::Instance &instance, Report &report) {
    const auto *ops = static_cast<const adf_timer_ops *>(instance.descriptor().ops);
    void *self = instance.handle();
    const double now = monotonic_now();
    const double first = ops->next_check_time(self, now);
    report.rule(std::isfinite(first), fmt::format("next_check_time(now) is {:+.3f} s from now",
                                                  first - now),
                "next_check_time() returned a value that is not a finite number");
    const double later = ops->next_check_time(self, now + 100);
    report.rule(std::isfinite(later) && later >= first,
                "the schedule moves forward as the clock does",
                fmt::format("next_check_time(now + 100 s) = {:+.3f} s is before next_check_time("
                            "now) = {:+.3f} s",
                            later - now, first - now));
    const double timeout = ops->check_timeout(self);
    report.rule(std::isfinite(timeout) && timeout > 0 && timeout <= 3600,
                fmt::format("check_timeout() is {}", seconds(timeout)),
                fmt::format("check_timeout() is {}, outside (0, 3600] s (the host clamps it)",
                            timeout));
    const uint32_t retry = ops->retry(self);
    if (retry <= 100)
        report.ok(fmt::format("retry() is {}", retry));
    else
        report.warn(fmt::format("retry() is {}: a dead peer costs {} × the timeout per round",
                                retry, retry));
}

// ----------------------------------------------------------------- driver

plugin::Loaded load(const std::string &path) {
    plugin::Loader loader({});
    return loader.load(path.find('/') == std::string::npos ? "./" + path : path, 0);
}

void run_kind(std::unique_ptr<plugin::Instance> instance, const PluginTestRequest &r,
              Report &report) {
    const std::string name = instance->name();
    switch (instance->descriptor().kind) {
        case ADF_KIND_DNS: {
            if (r.name.empty())
                throw SetupError("a dns plugin needs --name FQDN: a scratch name with no "
                                 "records, where plugin-test adds and removes some");
            plugin::DnsBackend dns(std::move(instance));
            const Snapshot before;
            std::string fqdn = r.name;
            std::transform(fqdn.begin(), fqdn.end(), fqdn.begin(),
                           [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
            if (!fqdn.empty() && fqdn.back() == '.') fqdn.pop_back();
            DnsTest(dns, fqdn, report).run();
            check_hygiene(report, before, "the dns calls");
            break;
        }
        case ADF_KIND_CHECK: {
            plugin::Checker checker(std::move(instance));
            test_check(checker, r, report);
            break;
        }
        case ADF_KIND_IPADDR: {
            const Snapshot before;
            test_ipaddr(*instance, report);
            check_hygiene(report, before, "own_address()");
            break;
        }
        default: {
            const Snapshot before;
            test_timer(*instance, report);
            check_hygiene(report, before, "the timer calls");
            break;
        }
    }
}

int run_plugin_test(const PluginTestRequest &r) {
    const nlohmann::json settings = read_section(r.section_path);
    plugin::Loaded loaded;
    try {
        loaded = load(r.plugin_path);
    } catch (const plugin::PluginError &e) {
        throw SetupError(e.what());
    }
    const adf_plugin_descriptor &d = *loaded.descriptor;
    const std::string kind = plugin::kind_name(static_cast<int>(d.kind));
    fmt::print("plugin-test: {}: {} plugin \"{}\" {} (ABI {}.{})\n", loaded.path, kind, d.name,
               d.version ? d.version : "", d.abi_major, d.abi_minor);
    Report report;

    const Snapshot before_create;
    const double start = monotonic_now();
    std::unique_ptr<plugin::Instance> instance;
    try {
        instance = plugin::Instance::create(loaded, {kind, loaded.path, settings});
    } catch (const config::ConfigError &e) {
        throw SetupError(fmt::format("create() refused the section{}: {}",
                                     r.section_path.empty() ? "" : " in " + r.section_path,
                                     e.what()));
    }
    const double took = monotonic_now() - start;
    if (took <= kCreateBudget)
        report.ok("create() returned in " + seconds(took));
    else
        report.warn(fmt::format("create() took {}: it runs at start, check-config and every "
                                "reload on the daemon's main thread; leave slow work (network) "
                                "to the first call",
                                seconds(took)));
    check_hygiene(report, before_create, "create()");

    run_kind(std::move(instance), r, report);  // destroys the instance when done

    const auto leaked = fds_added(before_create.fds, open_fds());
    report.rule(leaked.empty(), "after destroy() no descriptor of the plugin is left open",
                "after destroy(), descriptors are still open: " + describe(leaked) +
                    " (every reload would leak them)");
    report.rule(thread_count() <= before_create.threads, "after destroy() no thread is left",
                "after destroy(), threads of the plugin are still running");
    return report.finish();
}

}  // namespace

int plugin_test(const PluginTestRequest &request) {
    try {
        return run_plugin_test(request);
    } catch (const SetupError &e) {
        print_error(e.what());
        return kExitConfig;
    }
}

}  // namespace adf::cli
