// `autodnsfailover probe`: one plugin operation from the command line, for
// operators trying a config and for the plugins' integration tests.
#include <algorithm>

#include <fmt/format.h>

#include "cli/commands.h"
#include "config/config.h"
#include "isolation/check_runner.h"
#include "logging/log.h"
#include "loop/safety.h"
#include "plugin/kinds.h"
#include "util/exit_codes.h"
#include "util/text.h"

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

// A plugin's reason (often a provider's words) as one printable line.
int report(const plugin::Outcome &outcome, const std::string &what) {
    if (outcome.ok()) return kExitOk;
    const std::string status = plugin::status_name(outcome.status);
    print_error(outcome.error.empty() || outcome.error == status
                    ? fmt::format("{}: {}", what, status)
                    : fmt::format("{}: {}: {}", what, status, text::printable(outcome.error)));
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
    fmt::print("dead: {}\n", text::printable(verdict.reason()));
    return kExitSelfCheckFailed;
}

// A removal by hand goes through the daemon's floor: never the last record,
// never below safety.min_records unless --force (logged). An address that is
// not in the set changes no count: the plugin says what it makes of it.
int probe_remove(plugin::DnsBackend &dns, const ProbeRequest &r, int family,
                 const std::vector<plugin::ReadRecord> &current, const Address &address,
                 const config::Safety &safety) {
    const std::string what =
        fmt::format("remove {} from {} {}", address.text(), r.target, record_type(family));
    const bool listed =
        std::any_of(current.begin(), current.end(),
                    [&](const plugin::ReadRecord &record) { return record.address == address; });
    const auto verdict = listed ? safety::may_remove_by_hand(current.size(), safety, r.force)
                                : safety::Removal::Allowed;
    if (verdict == safety::Removal::Forced) {
        log::warning(fmt::format("{}: {}: {} record(s) will be left", what,
                                 safety::explain(verdict, safety), current.size() - 1),
                     {r.target, address.text(), dns.name(), "", "forced_removal", family});
    } else if (verdict != safety::Removal::Allowed) {
        const bool forceable = verdict == safety::Removal::BelowMinimum;
        print_error(fmt::format("{}: refused: {}{}", what, safety::explain(verdict, safety),
                                forceable ? " (--force overrides this)" : " (even with --force)"));
        return kExitSelfCheckFailed;
    }
    return report(dns.remove(r.target, family, current, address), what);
}

int probe_dns(plugin::DnsBackend &dns, const ProbeRequest &r, const config::Safety &safety) {
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
        // One line per record whatever a note holds: a provider's note with a
        // newline must not read as a record of its own.
        for (const auto &rec : current.records)
            fmt::print("{} {} {}\n", rec.address.text(), rec.ttl,
                       text::printable(text::bounded(rec.note, text::kMaxPluginText)));
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
    return probe_remove(dns, r, family, current.records, *address, safety);
}

unsigned slots_for(const std::string &what) {
    if (what == "ipaddr") return plugin::kIpaddr;
    if (what == "check") return plugin::kTimer;
    return plugin::kDns;
}

}  // namespace

int probe(const ProbeRequest &r) {
    plugin::Setup setup;
    std::unique_ptr<isolation::CheckService> checks;
    try {
        setup = plugin::load_setup(r.config_path, slots_for(r.what));
        const config::Config &config = setup.config;
        log::configure(config.logging);
        if (r.what == "check")
            checks = std::make_unique<isolation::CheckService>(isolation::HelperSetup{
                config.check, plugin::plugin_dirs_of(config), config.logging});
    } catch (const std::exception &e) {
        print_error(e.what());
        return kExitConfig;
    }
    plugin::PluginSet &plugins = setup.plugins;
    if (r.what == "ipaddr") return probe_ipaddr(*plugins.ipaddr, r.family);
    if (r.what == "check") return probe_check(*plugins.timer, *checks, r);
    return probe_dns(*plugins.dns, r, setup.config.safety);
}

}  // namespace adf::cli
