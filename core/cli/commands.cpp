#include "cli/commands.h"

#include <cstdio>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "config/config.h"
#include "logging/log.h"
#include "dnsread/direct_reader.h"
#include "plugin/kinds.h"
#include "util/exit_codes.h"

namespace adf::cli {

void print_error(const std::string &message) {
    fmt::print(stderr, "autodnsfailover: error: {}\n", message);
}

namespace {

// What the daemon will tell people through, as check-config reports it.
void print_operations(const config::Config &config) {
    for (const auto &mail : config.notify.email)
        fmt::print("  notify: mail via {} ({}) to {}, {} and above\n", mail.server, mail.tls,
                   fmt::join(mail.to, ", "), log::level_name(mail.filter.level));
    for (const auto &hook : config.notify.webhooks)
        fmt::print("  notify: webhook {}{}, {} and above\n", hook.url,
                   hook.hmac_key.empty() ? "" : " (signed)", log::level_name(hook.filter.level));
    if (config.metrics.listen)
        fmt::print("  metrics: http://{}/metrics\n", config.metrics.listen->text());
    if (!config.metrics.textfile.empty())
        fmt::print("  metrics textfile: {}\n", config.metrics.textfile);
    fmt::print("  status: {}\n", config.control.socket.empty() ? std::string("off (control.socket false)")
                                                                : config.control.socket);
}

}  // namespace

int check_config(const std::string &config_path) {
    try {
        const plugin::Setup setup = plugin::load_setup(config_path);
        const config::Config &config = setup.config;
        const plugin::PluginSet &plugins = setup.plugins;
        fmt::print("{}: configuration OK\n  fqdn: {}\n  dns: {}\n  ipaddr: {}\n  check: {}\n"
                   "  timer: {} (timeout {:g} s, {} attempt(s))\n",
                   config_path, fmt::join(config.fqdns, ", "), plugins.dns->name(),
                   plugins.ipaddr->name(), plugins.check->name(), plugins.timer->name(),
                   plugins.timer->check_timeout(), plugins.timer->attempts());
        if (config.read_from) fmt::print("  read_from: {}\n", dnsread::describe(*config.read_from));
        if (!config.hostname_rewrite.empty())
            fmt::print("  hostname: {} -> {} (hostname_rewrite {})\n", config.hostname,
                       config.fqdn_hostname, config.hostname_rewrite);
        print_operations(config);
        if (config.peers) {
            const config::Peers &p = *config.peers;
            fmt::print("  peers: UDP {}:{}, removal by {}, asking {} at most, waiting {:g} s; "
                       "rise {}, fall {}, damping {}\n",
                       p.listen ? p.listen->text() : std::string("*"), p.port,
                       p.agreement == 0 ? std::string("a majority")
                                        : fmt::format("{} confirmation(s)", p.agreement),
                       p.max_asked,
                       config::ask_deadline(p, plugins.timer->check_timeout(),
                                            plugins.timer->attempts()),
                       p.hysteresis.rise, p.hysteresis.fall,
                       p.hysteresis.damping.enabled ? "on" : "off");
        } else {
            fmt::print("  peers: off (each daemon decides alone)\n");
        }
        return kExitOk;
    } catch (const std::exception &e) {
        print_error(e.what());
        return kExitConfig;
    }
}

int list_plugins(const std::string &config_path, const std::vector<std::string> &dirs, bool json) {
    std::vector<std::string> search = dirs;
    if (search.empty() && !config_path.empty()) {
        try {
            search = config::load_file(config_path).plugin_dirs;
        } catch (const std::exception &e) {
            print_error(e.what());
            return kExitConfig;
        }
    }
    if (search.empty()) search = plugin::default_plugin_dirs();
    plugin::Loader loader(search);
    const auto rows = loader.list();
    // A directory that is not there is an error (a typo in --plugin-dir or
    // plugin_dirs, a package not installed), reported after the listing.
    const auto missing = loader.missing_dirs();
    const int status = missing.empty() ? kExitOk : kExitConfig;
    for (const auto &dir : missing) print_error(fmt::format("plugin directory {} is missing", dir));
    if (json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto &r : rows)
            out.push_back({{"name", r.name},
                           {"kind", plugin::kind_name(r.kind)},
                           {"version", r.version},
                           {"abi_version", fmt::format("{}.{}", r.abi_major, r.abi_minor)},
                           {"summary", r.summary},
                           {"path", r.path},
                           {"usable", r.refusal.empty()},
                           {"refusal", r.refusal}});
        // Replace, never throw on, bytes of a plugin's strings that are not UTF-8.
        fmt::print("{}\n", out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace));
        return status;
    }
    fmt::print("plugin directories: {}\n", fmt::join(search, ", "));
    for (const auto &r : rows) {
        if (r.refusal.empty())
            fmt::print("  {:<7} {:<16} {:<8} ABI {}.{}  {}\n", plugin::kind_name(r.kind), r.name,
                       r.version, r.abi_major, r.abi_minor, r.summary);
        else
            fmt::print("  refused {}: {}\n", r.path, r.refusal);
    }
    return status;
}

}  // namespace adf::cli
