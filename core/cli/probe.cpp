// `autodnsfailover probe`: one plugin operation from the command line, for
// operators trying a config and for the plugins' integration tests.
#include <fmt/format.h>

#include "cli/commands.h"
#include "config/config.h"
#include "isolation/check_runner.h"
#include "plugin/kinds.h"
#include "util/exit_codes.h"

namespace adf::cli {

void print_error(const std::string &message);

namespace {

int exit_code(int status) {
    switch (status) {
        case ADF_OK: return kExitOk;
        case ADF_TRANSIENT: return kExitTransient;
        case ADF_CONFLICT: return kExitConflict;
        case ADF_BAD_CONFIG: return kExitConfig;
        default: return kExitSelfCheckFailed;
    }
}

int report(const plugin::Outcome &outcome, const std::string &what) {
    if (outcome.ok()) return kExitOk;
    const std::string status = plugin::status_name(outcome.status);
    print_error(outcome.error.empty() || outcome.error == status
                    ? fmt::format("{}: {}", what, status)
                    : fmt::format("{}: {}: {}", what, status, outcome.error));
    return exit_code(outcome.status);
}

int probe_ipaddr(plugin::IpaddrSource &source, int family) {
    const auto own = source.own_address(family);
    if (!own.ok()) return report(own, fmt::format("own IPv{} address", family));
    fmt::print("{}\n", own.address->text());
    return kExitOk;
}

// Through a check helper, like the daemon: this process forks nothing.
int probe_check(plugin::Timer &timer, isolation::CheckService &checks, const ProbeRequest &r) {
    const auto address = parse_address(r.target);
    if (!address) {
        print_error(fmt::format("\"{}\" is not an IP address", r.target));
        return kExitConfig;
    }
    isolation::Limits limits;
    limits.timeout = r.timeout > 0 ? r.timeout : timer.check_timeout();
    limits.attempts = 1;
    const auto verdict = isolation::check_all(checks, {*address}, limits).verdicts.front();
    if (verdict.alive) {
        fmt::print("alive\n");
        return kExitOk;
    }
    fmt::print("dead: {}\n", verdict.reason());
    return kExitSelfCheckFailed;
}

int probe_dns(plugin::DnsBackend &dns, const ProbeRequest &r) {
    const std::string &fqdn = r.target;
    std::optional<Address> address;
    int family = r.family;
    if (r.what != "dns read") {
        address = parse_address(r.address);
        if (!address) {
            print_error(fmt::format("\"{}\" is not an IP address", r.address));
            return kExitConfig;
        }
        family = address->family;
    }
    const auto current = dns.read(fqdn, family);
    if (!current.ok()) return report(current, fmt::format("read {} {}", fqdn, record_type(family)));
    if (r.what == "dns read") {
        for (const auto &rec : current.records)
            fmt::print("{} {} {}\n", rec.address.text(), rec.ttl, rec.note);
        return kExitOk;
    }
    if (r.what == "dns add") {
        plugin::ReadRecord record;
        record.address = *address;
        record.ttl = r.ttl;
        record.note = r.note;
        return report(dns.add(fqdn, family, current.records, record),
                      fmt::format("add {} to {}", address->text(), fqdn));
    }
    return report(dns.remove(fqdn, family, current.records, *address),
                  fmt::format("remove {} from {}", address->text(), fqdn));
}

unsigned slots_for(const std::string &what) {
    if (what == "ipaddr") return plugin::kIpaddr;
    if (what == "check") return plugin::kTimer;
    return plugin::kDns;
}

}  // namespace

int probe(const ProbeRequest &r) {
    plugin::PluginSet plugins;
    std::unique_ptr<isolation::CheckService> checks;
    try {
        const config::Config config = config::load_file(r.config_path);
        log::configure(config.logging);
        const auto dirs =
            config.plugin_dirs.empty() ? plugin::default_plugin_dirs() : config.plugin_dirs;
        plugin::Loader loader(dirs);
        plugins = plugin::create_plugins(loader, config, slots_for(r.what));
        if (r.what == "check")
            checks = std::make_unique<isolation::CheckService>(
                isolation::HelperSetup{config.check, dirs, config.logging});
    } catch (const std::exception &e) {
        print_error(e.what());
        return kExitConfig;
    }
    if (r.what == "ipaddr") return probe_ipaddr(*plugins.ipaddr, r.family);
    if (r.what == "check") return probe_check(*plugins.timer, *checks, r);
    return probe_dns(*plugins.dns, r);
}

}  // namespace adf::cli
