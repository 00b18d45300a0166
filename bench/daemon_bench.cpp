// adf-bench: how fast and how cheaply the whole daemon checks its peers. It
// runs the real `autodnsfailover run` binary (with its check helper) against
// a zone file of 1,000 or 4,000 peers and measures what the daemon, its
// helper and every check child spend, next to the physical floor of a
// fork + connect measured in the same run. Prints a table; bench/README.md
// explains each figure. Run it through bench/run.sh, which gives it a network
// namespace where 127.1.0.0/16 is local (alive peers) and 127.2.0.0/16
// swallows every packet (silent peers).

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "local_servers.h"
#include "util/clock.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr double kTimeout = 0.5;  // the timer's timeout: the issue's setting
constexpr unsigned kRetry = 2;    // the timer's retry
constexpr double kInterval = 1;   // for the CPU runs (rounds back to back)
constexpr double kBigInterval = 5;  // the 4,000-peer pool must fit in it
constexpr unsigned kServerLifetime = 600;
constexpr double kRoundWait = 60;  // seconds to wait for a round before giving up

// 127.1.x.y answer (local); 127.2.x.y swallow every packet (run.sh's tun).
std::string peer(int net, unsigned i) { return fmt::format("127.{}.{}.{}", net, i / 250, i % 250 + 1); }

// `count` peers of which every tenth is silent when `with_silent`.
std::vector<std::string> pool(unsigned count, bool with_silent) {
    std::vector<std::string> peers;
    unsigned alive = 0, silent = 0;
    for (unsigned i = 0; i < count; ++i)
        peers.push_back(with_silent && i % 10 == 9 ? peer(2, silent++) : peer(1, alive++));
    return peers;
}

struct Plugin {
    std::string name;
    json throughput;  // the check section for the all-alive runs
    json round;       // ... and for the rounds with silent peers
};

std::vector<Plugin> plugins(const bench::LocalServers &servers) {
    const json tcp = {{"plugin", "tcp-check"}, {"port", servers.tcp_port()}};
    const json http = {{"plugin", "http-check"}, {"port", servers.http_port()}, {"path", "/health"}};
    const json icmp = {{"plugin", "icmp-check"}, {"count", 1}};
    const json exec_true = {{"plugin", "exec-check"}, {"command", {"/bin/true"}}};
    const json exec_hanging = {
        {"plugin", "exec-check"},
        {"command",
         {"/bin/sh", "-c", "case $1 in 127.2.*) exec /bin/sleep 60;; esac", "sh", "{address}"}}};
    return {{"tcp-check", tcp, tcp},
            {"http-check", http, http},
            {"icmp-check", icmp, icmp},
            {"exec-check", exec_true, exec_hanging}};
}

// A temporary directory with a zone file and a daemon config.
class Workspace {
   public:
    Workspace() {
        std::string pattern = (fs::temp_directory_path() / "adf-bench-XXXXXX").string();
        if (mkdtemp(pattern.data()) == nullptr)
            throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
        dir_ = pattern;
    }
    ~Workspace() { fs::remove_all(dir_); }

    // The zone holds this host (127.0.0.1) and `peers` under www.bench.test.
    std::string config(const json &check, const std::vector<std::string> &peers, double interval,
                       const std::string &plugin_dir) {
        const fs::path zone = dir_ / "bench.test.zone";
        std::ofstream out(zone);
        out << "$ORIGIN bench.test.\n$TTL 60\n"
               "@ IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 600 86400 60\n"
               "@ IN NS ns.bench.test.\nns IN A 127.0.0.1\nwww IN A 127.0.0.1\n";
        for (const auto &p : peers) out << "www IN A " << p << "\n";
        out.close();
        const json config = {
            {"fqdn", "www.bench.test"},
            {"plugin_dirs", {plugin_dir}},
            {"ipaddr", {{"plugin", "static"}, {"address", "127.0.0.1"}}},
            {"dns", {{"plugin", "zonefile"}, {"path", zone.string()}, {"zone", "bench.test"}}},
            {"check", check},
            {"timer",
             {{"plugin", "fixed-interval"}, {"interval", interval}, {"timeout", kTimeout},
              {"retry", kRetry}}},
            {"families", {4}},
            {"logging", {{"level", "debug"}}}};
        const fs::path path = dir_ / "bench.json";
        std::ofstream(path) << config.dump(2);
        return path.string();
    }

    // The addresses of www.bench.test in the zone file now.
    std::vector<std::string> zone_addresses() const {
        std::ifstream in(dir_ / "bench.test.zone");
        std::vector<std::string> found;
        for (std::string line; std::getline(in, line);) {
            std::istringstream words(line);
            std::vector<std::string> w{std::istream_iterator<std::string>(words), {}};
            if (w.size() >= 5 && w[0].rfind("www.bench.test", 0) == 0 && w[3] == "A")
                found.push_back(w[4]);
        }
        return found;
    }

   private:
    fs::path dir_;
};

struct Round {
    double seconds = 0;
    unsigned checks = 0;  // peers checked
    unsigned failed = 0;
};

long ticks_per_second() { return sysconf(_SC_CLK_TCK); }

// utime + stime (+ cutime + cstime with `children`) of a process, seconds.
double process_cpu(pid_t pid, bool children) {
    std::ifstream in(fmt::format("/proc/{}/stat", pid));
    std::string text;
    std::getline(in, text);
    const auto close = text.rfind(')');
    if (close == std::string::npos) return 0;
    std::istringstream fields(text.substr(close + 2));
    std::vector<std::string> f{std::istream_iterator<std::string>(fields), {}};
    // After the name: state(0) ppid pgrp session tty tpgid flags minflt cminflt majflt
    // cmajflt utime(11) stime(12) cutime(13) cstime(14).
    if (f.size() < 15) return 0;
    double ticks = std::stod(f[11]) + std::stod(f[12]);
    if (children) ticks += std::stod(f[13]) + std::stod(f[14]);
    return ticks / double(ticks_per_second());
}

struct Memory {
    double peak_mib = 0;  // VmHWM
    double rss_mib = 0;   // VmRSS
    unsigned mappings = 0;
};

Memory memory_of(pid_t pid) {
    Memory m;
    std::ifstream status(fmt::format("/proc/{}/status", pid));
    for (std::string line; std::getline(status, line);) {
        if (line.rfind("VmHWM:", 0) == 0) m.peak_mib = std::stod(line.substr(6)) / 1024;
        if (line.rfind("VmRSS:", 0) == 0) m.rss_mib = std::stod(line.substr(6)) / 1024;
    }
    std::ifstream maps(fmt::format("/proc/{}/maps", pid));
    for (std::string line; std::getline(maps, line);) ++m.mappings;
    return m;
}

// One `autodnsfailover run` with its log on a pipe.
class Daemon {
   public:
    Daemon(const std::string &binary, const std::string &config, bool once) {
        int fds[2];
        if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe");
        pid_ = fork();
        if (pid_ == 0) {
            dup2(fds[1], STDERR_FILENO);
            const char *argv[] = {binary.c_str(), "run", "-c", config.c_str(),
                                  once ? "--once" : nullptr, nullptr};
            execv(binary.c_str(), const_cast<char *const *>(argv));
            _exit(127);
        }
        close(fds[1]);
        log_ = fds[0];
    }
    ~Daemon() {
        if (pid_ > 0) stop();
        close(log_);
    }

    // Reads the log until `count` rounds finished; their summaries.
    std::vector<Round> rounds(size_t count) {
        static const std::regex summary(R"(round finished in ([0-9.]+) s: .*?(\d+) checks? of peers, (\d+) dead)");
        static const std::regex helper(R"(helper pid (\d+))");
        std::vector<Round> found;
        const double deadline = adf::monotonic_now() + kRoundWait * double(count);
        while (found.size() < count) {
            const std::string line = next_line(deadline);
            log_text_ += line + "\n";
            std::smatch m;
            if (std::regex_search(line, m, helper) && helper_ <= 0) helper_ = std::stoi(m[1]);
            if (std::regex_search(line, m, summary))
                found.push_back({std::stod(m[1]), unsigned(std::stoul(m[2])),
                                 unsigned(std::stoul(m[3]))});
        }
        return found;
    }

    pid_t pid() const { return pid_; }
    pid_t helper() const { return helper_; }
    // The last lines logged, for an error message.
    std::string log_tail() const {
        return log_text_.substr(log_text_.size() > 3000 ? log_text_.size() - 3000 : 0);
    }

    // SIGTERM (unless it ends by itself); the daemon's CPU with everything
    // it reaped (the helper, and through it every check child).
    double stop() {
        if (pid_ <= 0) return cpu_;
        kill(pid_, SIGTERM);
        return wait_exit();
    }
    double wait_exit() {
        int status = 0;
        rusage usage{};
        while (wait4(pid_, &status, 0, &usage) < 0 && errno == EINTR) {
        }
        pid_ = -1;
        cpu_ = double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) +
               double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1e6;
        status_ = status;
        return cpu_;
    }
    int status() const { return status_; }

   private:
    std::string next_line(double deadline) {
        for (;;) {
            const auto newline = buffer_.find('\n');
            if (newline != std::string::npos) {
                std::string line = buffer_.substr(0, newline);
                buffer_.erase(0, newline + 1);
                return line;
            }
            const double left = deadline - adf::monotonic_now();
            pollfd p{log_, POLLIN, 0};
            if (left <= 0 || poll(&p, 1, int(left * 1000) + 1) <= 0)
                throw std::runtime_error("the daemon finished no round in time; its log:\n" +
                                         buffer_);
            char chunk[65536];
            const ssize_t n = read(log_, chunk, sizeof chunk);
            if (n <= 0) throw std::runtime_error("the daemon ended before its round finished");
            buffer_.append(chunk, size_t(n));
        }
    }

    pid_t pid_ = -1;
    pid_t helper_ = -1;
    int log_ = -1;
    std::string buffer_;
    std::string log_text_;
    double cpu_ = 0;
    int status_ = 0;
};

struct Options {
    std::string binary;
    std::string floor_program;
    std::string plugin_dir;
    unsigned cpu_rounds = 5;
    unsigned repeats = 3;
    std::vector<std::string> only;
};

double median(std::vector<double> values) {
    std::sort(values.begin(), values.end());
    return values[values.size() / 2];
}

// CPU per check of the whole daemon over `rounds` rounds of `peers` alive
// peers: the daemon, its helper and every check child, start-up included.
struct Cpu {
    unsigned checks = 0;
    double per_cpu_second = 0;    // checks per CPU-second, everything counted
    double daemon_us = 0;         // the daemon's own part per check
    double helper_us = 0;         // the helper and its children per check
    double checks_per_second = 0; // wall clock, within the rounds
};

Cpu measure_cpu(const Options &o, const Plugin &p, unsigned peers) {
    Workspace ws;
    Daemon d(o.binary, ws.config(p.throughput, pool(peers, false), kInterval, o.plugin_dir), false);
    const auto rounds = d.rounds(o.cpu_rounds);
    const double daemon_cpu = process_cpu(d.pid(), false);
    const double helper_cpu = process_cpu(d.helper(), true);
    const double total = d.stop();
    Cpu c;
    double wall = 0;
    for (const Round &r : rounds) {
        if (r.failed != 0 || r.checks != peers)
            throw std::runtime_error(fmt::format("{}: {} of {} alive peers checked, {} failed; the "
                                                 "daemon's log ends:\n{}",
                                                 p.name, r.checks, peers, r.failed, d.log_tail()));
        c.checks += r.checks + 1;  // and the self-check
        wall += r.seconds;
    }
    c.per_cpu_second = c.checks / total;
    c.daemon_us = daemon_cpu / c.checks * 1e6;
    c.helper_us = helper_cpu / c.checks * 1e6;
    c.checks_per_second = c.checks / wall;
    return c;
}

// The first round over `count` peers of which a tenth is silent, at the
// default settings: its time (median of the repeats), and the daemon's and
// helper's memory during it. Every silent peer must be found dead and gone
// from the zone after that one round, and no alive one.
struct RoundFigures {
    double seconds = 0;
    Memory daemon, helper;
};

RoundFigures measure_round(const Options &o, const Plugin &p, unsigned count, double interval) {
    std::vector<double> times;
    RoundFigures f;
    for (unsigned r = 0; r < o.repeats; ++r) {
        Workspace ws;
        const auto peers = pool(count, true);
        Daemon d(o.binary, ws.config(p.round, peers, interval, o.plugin_dir), false);
        const Round round = d.rounds(1).front();
        const Memory daemon = memory_of(d.pid()), helper = memory_of(d.helper());
        d.stop();
        if (round.failed != count / 10 || round.checks != count)
            throw std::runtime_error(fmt::format(
                "{}: {} of {} peers checked, {} failed, expected the {} silent; the daemon's log "
                "ends:\n{}", p.name, round.checks, count, round.failed, count / 10, d.log_tail()));
        const auto left = ws.zone_addresses();
        if (left.size() != count - count / 10 + 1 ||
            std::any_of(left.begin(), left.end(),
                        [](const std::string &a) { return a.rfind("127.2.", 0) == 0; }))
            throw std::runtime_error(fmt::format(
                "{}: after one round the zone holds {} addresses, expected the {} alive ones and "
                "this host", p.name, left.size(), count - count / 10));
        times.push_back(round.seconds);
        f.daemon.peak_mib = std::max(f.daemon.peak_mib, daemon.peak_mib);
        f.helper.peak_mib = std::max(f.helper.peak_mib, helper.peak_mib);
        f.daemon.mappings = daemon.mappings;
        f.helper.mappings = helper.mappings;
        f.helper.rss_mib = helper.rss_mib;
    }
    f.seconds = median(times);
    return f;
}

double measure_floor(const Options &o, int port) {
    const std::string command =
        fmt::format("'{}' {} 4000 64", o.floor_program, port);
    FILE *out = popen(command.c_str(), "r");
    if (out == nullptr) throw std::runtime_error("cannot run " + o.floor_program);
    char line[64] = {0};
    const bool read = fgets(line, sizeof line, out) != nullptr;
    if (pclose(out) != 0 || !read) throw std::runtime_error(o.floor_program + " failed");
    return std::stod(line);
}

// Silent peers must swallow packets (a refusal would make a round fast for
// the wrong reason): only run.sh's namespace does that.
void require_silent(int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    sa.sin_addr.s_addr = htonl(0x7f020001);  // 127.2.0.1
    std::string answered;
    if (connect(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) == 0)
        answered = "it accepted a connection";
    else if (errno != EINPROGRESS)
        answered = std::string("connect failed at once: ") + std::strerror(errno);
    else {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 200) != 0) answered = "it answered within 0.2 s";
    }
    close(fd);
    if (!answered.empty())
        throw std::runtime_error("127.2.0.1 must be silent but " + answered +
                                 ": run the benchmark through bench/run.sh");
}

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

int run(const Options &o) {
    bench::LocalServers servers(kServerLifetime);
    require_silent(servers.tcp_port());
    const std::string load_before = load_average();
    const double floor_us = measure_floor(o, servers.tcp_port());

    struct Row {
        std::string plugin;
        Cpu cpu;
        RoundFigures round;
    };
    std::vector<Row> rows;
    for (const Plugin &p : plugins(servers)) {
        if (!o.only.empty() && std::find(o.only.begin(), o.only.end(), p.name) == o.only.end())
            continue;
        fmt::print(stderr, "{}: {} rounds of 1000 alive peers, then {} rounds of 1000 peers with "
                           "100 silent\n", p.name, o.cpu_rounds, o.repeats);
        rows.push_back({p.name, measure_cpu(o, p, 1000), measure_round(o, p, 1000, 10)});
    }
    std::optional<RoundFigures> big;
    if (o.only.empty() || std::count(o.only.begin(), o.only.end(), "tcp-check")) {
        fmt::print(stderr, "tcp-check: {} rounds of 4000 peers with 400 silent\n", o.repeats);
        big = measure_round(o, plugins(servers).front(), 4000, kBigInterval);
    }
    servers.stop();

    fmt::print("autodnsfailover daemon benchmark: `autodnsfailover run` with its check helper, "
               "{} build, {} CPUs, load average {} before, {} after\n\n",
               ADF_BENCH_BUILD_TYPE, sysconf(_SC_NPROCESSORS_ONLN), load_before, load_average());
    fmt::print("fork + connect floor (a libc-only process forks, the child connects to loopback "
               "and _exits): {:.0f} us of CPU per check = {:.0f} checks per CPU-second\n\n",
               floor_us, 1e6 / floor_us);
    fmt::print("{:<11} {:>16} {:>11} {:>13} {:>17} {:>9}  {}\n", "plugin", "checks/CPU-s",
               "us/check", "daemon us", "helper+child us", "checks/s",
               "round: 1000 peers, 100 silent");
    for (const Row &r : rows)
        fmt::print("{:<11} {:>16.0f} {:>11.0f} {:>13.0f} {:>17.0f} {:>9.0f}  {:.3f} s\n", r.plugin,
                   r.cpu.per_cpu_second, 1e6 / r.cpu.per_cpu_second, r.cpu.daemon_us,
                   r.cpu.helper_us, r.cpu.checks_per_second, r.round.seconds);
    fmt::print("\nCPU: {} rounds of 1000 alive peers (interval {:g} s), daemon + helper + every "
               "check child, start-up included. Rounds: timeout {:g} s x retry {} = {:g} s; the "
               "bound asked for is 1.2 x that = {:.1f} s (median of {}).\n",
               o.cpu_rounds, kInterval, kTimeout, kRetry, kTimeout * kRetry, 1.2 * kTimeout * kRetry,
               o.repeats);
    if (big)
        fmt::print("4000 peers, 400 silent: round {:.3f} s (interval {:g} s, median of {})\n",
                   big->seconds, kBigInterval, o.repeats);
    const RoundFigures &m = big ? *big : rows.front().round;
    fmt::print("peak RSS at {} peers: daemon {:.1f} MiB ({} mappings), check helper {:.1f} MiB "
               "({:.1f} MiB now, {} mappings)\n",
               big ? 4000 : 1000, m.daemon.peak_mib, m.daemon.mappings, m.helper.peak_mib,
               m.helper.rss_mib, m.helper.mappings);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    Options o;
    o.binary = ADF_BENCH_BUILD_DIR "/autodnsfailover";
    o.floor_program = ADF_BENCH_BUILD_DIR "/bench/adf-fork-floor";
    o.plugin_dir = ADF_BENCH_BUILD_DIR "/plugins";
    CLI::App app{"Benchmarks the whole daemon's checks; run it through bench/run.sh"};
    app.add_option("--binary", o.binary, "the autodnsfailover binary")->check(CLI::ExistingFile);
    app.add_option("--plugin-dir", o.plugin_dir, "where the plugins are")
        ->check(CLI::ExistingDirectory)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--cpu-rounds", o.cpu_rounds, "rounds of the CPU runs")->check(CLI::Range(1, 100));
    app.add_option("--rounds", o.repeats, "rounds per round figure (the median is shown)")
        ->check(CLI::Range(1, 100));
    app.add_option("--plugin", o.only, "benchmark only this plugin (repeatable)")
        ->check(CLI::IsMember({"tcp-check", "http-check", "icmp-check", "exec-check"}));
    CLI11_PARSE(app, argc, argv);
    signal(SIGPIPE, SIG_IGN);
    try {
        return run(o);
    } catch (const std::exception &e) {
        fmt::print(stderr, "adf-bench: error: {}\n", e.what());
        return 1;
    }
}
