// adf-check-bench: how fast and how cheaply the daemon checks its peers,
// through the daemon's own isolation (isolation::check_all: every attempt in
// a forked child). Prints a table; bench/README.md explains each figure.
// Run it through bench/run.sh, which gives it a network namespace where
// 127.0.2.0/24 swallows every packet (the unresponsive peers).

#include <sys/resource.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "isolation/check_runner.h"
#include "local_servers.h"
#include "logging/log.h"
#include "plugin/kinds.h"
#include "util/clock.h"

namespace {

using adf::Address;
using nlohmann::json;

constexpr unsigned kPeers = 100;        // alive local peers: 127.0.0.1 ..
constexpr unsigned kUnresponsive = 10;  // of the round's kPeers: 127.0.2.1 ..
constexpr double kRoundTimeout = 0.5;   // the timer's timeout in the round
constexpr unsigned kRoundRetry = 2;     // the timer's retry in the round
constexpr double kThroughputTimeout = 5.0;  // generous: a slow alive check must not fail
constexpr unsigned kWarmupChecks = 32;
constexpr unsigned kServerLifetime = 300;  // seconds, as run.sh's time limit

Address ipv4(uint8_t a, uint8_t b, uint8_t c, uint8_t d) {
    Address address;
    address.family = 4;
    address.bytes[0] = a;
    address.bytes[1] = b;
    address.bytes[2] = c;
    address.bytes[3] = d;
    return address;
}

std::vector<Address> alive_peers() {
    std::vector<Address> peers;
    for (unsigned i = 1; i <= kPeers; ++i) peers.push_back(ipv4(127, 0, 0, uint8_t(i)));
    return peers;
}

bool is_unresponsive(const Address &address) {
    return address.bytes[0] == 127 && address.bytes[1] == 0 && address.bytes[2] == 2;
}

// kPeers peers, every tenth one unresponsive (spread, not bunched at the end).
std::vector<Address> round_peers() {
    std::vector<Address> peers;
    unsigned alive = 0, dead = 0;
    for (unsigned i = 0; i < kPeers; ++i) {
        if (i % (kPeers / kUnresponsive) == kPeers / kUnresponsive - 1)
            peers.push_back(ipv4(127, 0, 2, uint8_t(++dead)));
        else
            peers.push_back(ipv4(127, 0, 0, uint8_t(++alive)));
    }
    return peers;
}

// `count` checks cycling over the alive peers.
std::vector<Address> cycled(const std::vector<Address> &peers, size_t count) {
    std::vector<Address> addresses;
    for (size_t i = 0; i < count; ++i) addresses.push_back(peers[i % peers.size()]);
    return addresses;
}

// The plugin sections a benchmarked plugin is measured with.
struct Scenario {
    std::string plugin;
    json throughput_check;  // for checks/s and CPU
    json round_check;       // for the round with unresponsive peers
};

std::vector<Scenario> scenarios(const bench::LocalServers &servers) {
    const json tcp = {{"plugin", "tcp-check"}, {"port", servers.tcp_port()}};
    const json http = {
        {"plugin", "http-check"}, {"port", servers.http_port()}, {"path", "/health"}};
    const json icmp = {{"plugin", "icmp-check"}};
    // A check program that answers at once, or hangs for an unresponsive peer.
    const json exec_true = {{"plugin", "exec-check"}, {"command", {"/bin/true"}}};
    const json exec_hanging = {
        {"plugin", "exec-check"},
        {"command",
         {"/bin/sh", "-c", "case $1 in 127.0.2.*) exec /bin/sleep 60;; esac", "sh", "{address}"}}};
    return {{"tcp-check", tcp, tcp},
            {"http-check", http, http},
            {"icmp-check", icmp, icmp},
            {"exec-check", exec_true, exec_hanging}};
}

// A complete daemon config around `check`, parsed and validated the way the
// daemon does; only its check and timer plugins are ever created.
adf::config::Config daemon_config(const json &check, const std::string &plugin_dir) {
    const json root = {
        {"fqdn", "bench.example.test"},
        {"plugin_dirs", {plugin_dir}},
        {"ipaddr", {{"plugin", "static"}, {"address", "127.0.0.1"}}},
        {"dns",
         {{"plugin", "zonefile"}, {"path", "/nonexistent/bench.zone"}, {"zone", "example.test"}}},
        {"check", check},
        {"timer",
         {{"plugin", "fixed-interval"}, {"interval", 10}, {"timeout", kRoundTimeout},
          {"retry", kRoundRetry}}},
        {"logging", {{"level", "critical"}}}};
    const std::string plugin = check.at("plugin").get<std::string>();
    return adf::config::parse(root.dump(), "bench config for " + plugin);
}

struct Loaded {
    adf::plugin::PluginSet plugins;  // the timer
    std::unique_ptr<adf::isolation::CheckService> checks;  // a check helper, as the daemon's
    adf::isolation::Limits round_limits() const {
        adf::isolation::Limits limits;  // as the daemon's check(): the timer decides
        limits.timeout = plugins.timer->check_timeout();
        limits.attempts = plugins.timer->attempts();
        return limits;
    }
};

Loaded load(adf::plugin::Loader &loader, const json &check, const std::string &plugin_dir) {
    const adf::config::Config config = daemon_config(check, plugin_dir);
    adf::log::configure(config.logging);
    Loaded loaded{adf::plugin::create_plugins(loader, config, adf::plugin::kTimer), nullptr};
    loaded.checks = std::make_unique<adf::isolation::CheckService>(
        adf::isolation::HelperSetup{config.check, {plugin_dir}, config.logging},
        ADF_BENCH_CHECKER);
    return loaded;
}

// Wall clock and CPU time of this process and of its reaped children.
struct Usage {
    double wall = 0, parent_cpu = 0, children_cpu = 0;
};

double cpu_seconds(const rusage &usage) {
    auto seconds = [](const timeval &t) { return double(t.tv_sec) + double(t.tv_usec) / 1e6; };
    return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

Usage usage_now() {
    rusage self{}, children{};
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
    return {adf::monotonic_now(), cpu_seconds(self), cpu_seconds(children)};
}

long max_rss_kib(int who) {
    rusage usage{};
    getrusage(who, &usage);
    return usage.ru_maxrss;
}

long current_rss_kib() {
    std::ifstream status("/proc/self/status");
    for (std::string line; std::getline(status, line);)
        if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0;
}

[[noreturn]] void wrong_verdict(const std::string &what, const adf::isolation::Verdict &v,
                                bool expected_alive) {
    throw std::runtime_error(fmt::format(
        "{}: {} was judged {} ({}), expected {}: the figures would be meaningless", what,
        v.address.text(), v.alive ? "alive" : "dead", v.alive ? "no failure" : v.reason(),
        expected_alive ? "alive" : "dead after every attempt"));
}

struct Throughput {
    size_t checks = 0;
    double per_second = 0;
    double cpu_per_1000 = 0;         // parent + children
    double parent_cpu_per_1000 = 0;  // the daemon process alone
};

Throughput measure_throughput(adf::isolation::CheckService &checks,
                              const std::vector<Address> &addresses, unsigned parallel) {
    adf::isolation::Limits limits;
    limits.timeout = kThroughputTimeout;
    limits.attempts = 1;
    limits.parallel = parallel;
    const Usage before = usage_now();
    const auto verdicts = adf::isolation::check_all(checks, addresses, limits).verdicts;
    const Usage after = usage_now();
    for (const auto &v : verdicts)
        if (!v.alive) wrong_verdict(checks.plugin_name() + " throughput", v, true);
    const double n = double(addresses.size());
    const double parent = after.parent_cpu - before.parent_cpu;
    const double children = after.children_cpu - before.children_cpu;
    return {addresses.size(), n / (after.wall - before.wall), (parent + children) / n * 1000,
            parent / n * 1000};
}

// Seconds for one round over round_peers(), the median of `repeats`.
double measure_round(adf::isolation::CheckService &checks, adf::isolation::Limits limits,
                     unsigned parallel, unsigned repeats) {
    limits.parallel = parallel;
    const std::vector<Address> peers = round_peers();
    std::vector<double> times;
    for (unsigned r = 0; r < repeats; ++r) {
        const double start = adf::monotonic_now();
        const auto verdicts = adf::isolation::check_all(checks, peers, limits).verdicts;
        times.push_back(adf::monotonic_now() - start);
        for (const auto &v : verdicts) {
            const bool expected_alive = !is_unresponsive(v.address);
            if (v.alive != expected_alive || (!v.alive && v.attempts != limits.attempts))
                wrong_verdict(checks.plugin_name() + " round", v, expected_alive);
        }
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

// The unresponsive peers must swallow packets (a refusal or an answer would
// make the round fast for the wrong reason): only run.sh's namespace does.
void require_unresponsive(const Address &address, int port) {
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(uint16_t(port));
    std::memcpy(&sa.sin_addr, address.bytes.data(), 4);
    std::string answered;
    if (connect(fd, reinterpret_cast<const sockaddr *>(&sa), sizeof sa) == 0) {
        answered = "it accepted a connection";
    } else if (errno != EINPROGRESS) {
        answered = std::string("connect failed at once: ") + std::strerror(errno);
    } else {
        pollfd p{fd, POLLOUT, 0};
        if (poll(&p, 1, 200) != 0) answered = "it answered a connection attempt within 0.2 s";
    }
    close(fd);
    if (!answered.empty())
        throw std::runtime_error(fmt::format(
            "{} must be unresponsive but {}: run the benchmark through bench/run.sh, which "
            "creates a network namespace that drops packets to 127.0.2.0/24",
            address.text(), answered));
}

struct Row {
    std::string plugin;
    unsigned parallel = 0;
    Throughput throughput;
    std::optional<double> round;
};

std::string load_average() {
    std::ifstream in("/proc/loadavg");
    std::string one, five, fifteen;
    in >> one >> five >> fifteen;
    return one + " " + five + " " + fifteen;
}

void print_table(const std::vector<Row> &rows) {
    const std::string round_header =
        fmt::format("round: {} peers, {} unresponsive", kPeers, kUnresponsive);
    fmt::print("{:<11} {:>8} {:>6} {:>9} {:>11} {:>13}  {:>33}  {}\n", "plugin", "parallel",
               "checks", "checks/s", "CPU s/1000", "parent s/1000", round_header,
               "timeout x retry");
    for (const Row &r : rows) {
        const std::string round = r.round ? fmt::format("{:.3f} s", *r.round) : "-";
        const std::string limits =
            r.round ? fmt::format("{:g} s x {}", kRoundTimeout, kRoundRetry) : "-";
        fmt::print("{:<11} {:>8} {:>6} {:>9.0f} {:>11.3f} {:>13.3f}  {:>33}  {}\n", r.plugin,
                   r.parallel, r.throughput.checks, r.throughput.per_second,
                   r.throughput.cpu_per_1000, r.throughput.parent_cpu_per_1000, round, limits);
    }
}

struct Options {
    std::string plugin_dir = ADF_BENCH_PLUGIN_DIR;
    size_t checks = 1000;
    unsigned repeats = 3;
    std::vector<unsigned> throughput_parallel = {1, 32, 100};
    std::vector<unsigned> round_parallel = {32, 100};
    std::vector<std::string> only;
};

int run(const Options &options) {
    const std::vector<Address> peers = alive_peers();
    bench::LocalServers servers(peers, kServerLifetime);
    require_unresponsive(ipv4(127, 0, 2, 1), servers.tcp_port());

    adf::plugin::Loader loader({options.plugin_dir});
    struct Bench {
        Scenario scenario;
        Loaded throughput, round;
    };
    std::vector<Bench> benches;
    for (const Scenario &s : scenarios(servers)) {
        if (!options.only.empty() &&
            std::find(options.only.begin(), options.only.end(), s.plugin) == options.only.end())
            continue;
        benches.push_back({s, load(loader, s.throughput_check, options.plugin_dir),
                           load(loader, s.round_check, options.plugin_dir)});
    }
    if (benches.empty()) throw std::runtime_error("no plugin left to benchmark: see --plugin");
    const long rss_loaded = current_rss_kib();

    std::vector<Row> rows;
    for (Bench &b : benches) {
        adf::isolation::CheckService &checker = *b.throughput.checks;
        fmt::print(stderr, "{}: warming up, then {} checks at parallel {}; rounds at parallel {}\n",
                   b.scenario.plugin, options.checks, fmt::join(options.throughput_parallel, ", "),
                   fmt::join(options.round_parallel, ", "));
        measure_throughput(checker, cycled(peers, kWarmupChecks), kWarmupChecks);
        for (unsigned parallel : options.throughput_parallel) {
            Row row{b.scenario.plugin, parallel,
                    measure_throughput(checker, cycled(peers, options.checks), parallel), {}};
            if (std::find(options.round_parallel.begin(), options.round_parallel.end(), parallel) !=
                options.round_parallel.end())
                row.round = measure_round(*b.round.checks, b.round.round_limits(), parallel,
                                          options.repeats);
            rows.push_back(row);
        }
    }
    const long peak_rss = max_rss_kib(RUSAGE_SELF);
    const long child_peak_rss = max_rss_kib(RUSAGE_CHILDREN);
    servers.stop();

    fmt::print("autodnsfailover check benchmark: isolation::check_all, one forked child per "
               "attempt ({} build, {} CPUs, load average at the end {})\n\n",
               ADF_BENCH_BUILD_TYPE, sysconf(_SC_NPROCESSORS_ONLN), load_average());
    print_table(rows);
    fmt::print("\nround: median of {} rounds over {} peers, {} of which never answer; expected "
               "about retry x timeout = {:g} s (one peer after the other: {} x {} x {:g} s = "
               "{:g} s)\n",
               options.repeats, kPeers, kUnresponsive, kRoundRetry * kRoundTimeout, kUnresponsive,
               kRoundRetry, kRoundTimeout, kUnresponsive * kRoundRetry * kRoundTimeout);
    fmt::print("peak RSS of the daemon process (ru_maxrss): {:.1f} MiB ({:.1f} MiB after loading "
               "{} check plugin(s)); largest check child: {:.1f} MiB\n",
               peak_rss / 1024.0, rss_loaded / 1024.0, benches.size(), child_peak_rss / 1024.0);
    return 0;
}

}  // namespace

int main(int argc, char **argv) {
    Options options;
    CLI::App app{"Benchmarks the daemon's isolated health checks; run it through bench/run.sh"};
    app.add_option("--plugin-dir", options.plugin_dir, "where the plugins are (the last one given)")
        ->check(CLI::ExistingDirectory)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.add_option("--checks", options.checks, "checks per throughput run")
        ->check(CLI::Range(1, 100000));
    app.add_option("--rounds", options.repeats, "rounds per figure (the median is shown)")
        ->check(CLI::Range(1, 100));
    app.add_option("--plugin", options.only, "benchmark only this plugin (repeatable)")
        ->check(CLI::IsMember({"tcp-check", "http-check", "icmp-check", "exec-check"}));
    CLI11_PARSE(app, argc, argv);
    try {
        return run(options);
    } catch (const std::exception &e) {
        fmt::print(stderr, "adf-check-bench: error: {}\n", e.what());
        return 1;
    }
}
