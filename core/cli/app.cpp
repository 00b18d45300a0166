#include "cli/app.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <autodnsfailover/plugin.h>

#include "cli/commands.h"
#include "config/config.h"
#include "loop/daemon.h"

namespace adf::cli {
namespace {

constexpr const char *kExitCodes =
    "Exit codes: 0 ok (probe: alive/done); 1 self-check failed, the supervisor should restart "
    "it (probe: dead/failed, or a removal refused by a safeguard; plugin-test: a rule does not "
    "hold; status: no daemon answered); 2 config, usage or plugin error, do not restart in a "
    "loop; 3 probe, run --once: transient backend error (a read or write failed); 4 probe, run "
    "--once: the record set changed (conflict).";

std::string version_text() {
    return fmt::format("autodnsfailover {} (plugin ABI {}.{})", ADF_VERSION, ADF_ABI_MAJOR,
                       ADF_ABI_MINOR);
}

int family_number(const std::string &text) { return text == "6" || text == "ipv6" ? 6 : 4; }

void add_probe_commands(CLI::App &probe, ProbeRequest &request, std::string &family) {
    auto *ipaddr = probe.add_subcommand("ipaddr", "Print the own address the ipaddr plugin gives");
    ipaddr->add_option("--family", family, "4 or 6")->check(CLI::IsMember({"4", "6"}));
    auto *check = probe.add_subcommand("check", "Run one isolated check of ADDRESS");
    check->add_option("address", request.target, "The address to check")->required();
    check->add_option("--timeout", request.timeout, "Seconds (default: the timer's timeout)");
    auto *dns = probe.add_subcommand("dns", "Read or change records through the dns plugin");
    dns->require_subcommand(1);
    auto *read = dns->add_subcommand("read", "Print the records of FQDN");
    read->add_option("fqdn", request.target)->required();
    read->add_option("--family", family, "4 or 6")->check(CLI::IsMember({"4", "6"}));
    auto *add = dns->add_subcommand("add", "Add ADDRESS to FQDN (conditional on a fresh read)");
    add->add_option("fqdn", request.target)->required();
    add->add_option("address", request.address)->required();
    add->add_option("--ttl", request.ttl, "TTL of a new set (default: the plugin's)");
    add->add_option("--note", request.note, "Note for the record, where the provider has one");
    auto *remove = dns->add_subcommand(
        "remove", "Remove ADDRESS from FQDN (conditional; never the last record, never below "
                  "safety.min_records)");
    remove->add_option("fqdn", request.target)->required();
    remove->add_option("address", request.address)->required();
    remove->add_flag("--force", request.force,
                     "Remove even below safety.min_records (logged; the last record stays)");
}

CLI::App *add_plugin_test_command(CLI::App &app, PluginTestRequest &request) {
    auto *command = app.add_subcommand(
        "plugin-test", "Load one plugin and exercise its contract; print what holds and what not");
    command->add_option("plugin", request.plugin_path, "The plugin's .so file")->required();
    command->add_option("-c,--config", request.section_path,
                        "A JSON file holding the plugin's config section");
    command->add_option("--name", request.name,
                        "dns: a scratch name without records, where records are added and removed");
    command->add_option("--address", request.addresses,
                        "check: an address to check (repeatable; default 127.0.0.1)");
    command->add_option("--silent-address", request.silent_address,
                        "check: an address that drops every packet (tests the timeout)");
    command->add_option("--timeout", request.timeout, "check: seconds per call (default 1)")
        ->check(CLI::Range(0.01, 3600.0));
    return command;
}

std::string probe_what(CLI::App &probe) {
    for (auto *sub : probe.get_subcommands()) {
        if (sub->get_name() != "dns") return sub->get_name();
        for (auto *op : sub->get_subcommands()) return "dns " + op->get_name();
    }
    return "";
}

}  // namespace

int main(int argc, char **argv) {
    CLI::App app{"autodnsfailover: automatic failover for round-robin DNS", "autodnsfailover"};
    app.footer(kExitCodes);
    app.set_version_flag("--version", version_text());
    app.require_subcommand(1);

    loop::RunOptions run_options;
    auto *run = app.add_subcommand("run", "Run the daemon");
    run->add_option("-c,--config", run_options.config_path, "Config file")->required();
    run->add_flag("--once", run_options.once, "Run one round, then exit");
    run->add_flag("--dry-run", run_options.dry_run, "Log every change it would make; make none");

    std::string config_path;
    auto *check_config_cmd =
        app.add_subcommand("check-config", "Validate a config and create its plugins");
    check_config_cmd->add_option("-c,--config", config_path, "Config file")->required();

    bool json = false;
    std::vector<std::string> dirs;
    auto *plugins = app.add_subcommand("plugins", "List the plugins found");
    plugins->add_flag("--json", json, "JSON output");
    plugins->add_option("-c,--config", config_path, "Use the config's plugin_dirs");
    plugins->add_option("--plugin-dir", dirs, "Search this directory (repeatable)");

    ProbeRequest request;
    std::string family = "4";
    auto *probe_cmd = app.add_subcommand("probe", "Try one plugin operation from a config");
    probe_cmd->add_option("-c,--config", request.config_path, "Config file")->required();
    probe_cmd->require_subcommand(1);
    add_probe_commands(*probe_cmd, request, family);

    StatusRequest status_request;
    auto *status_cmd = app.add_subcommand(
        "status", "Show what the running daemon sees now (asked over its control socket)");
    status_cmd->add_option("-c,--config", status_request.config_path,
                           "Use the config's control.socket");
    status_cmd->add_option("--socket", status_request.socket,
                           fmt::format("The control socket (default {})",
                                       config::kDefaultControlSocket));
    status_cmd->add_flag("--json", status_request.json, "The daemon's JSON, as it sent it");
    status_cmd->add_option("--timeout", status_request.timeout, "Seconds to wait (default 5)")
        ->check(CLI::Range(0.1, 600.0));

    PluginTestRequest test_request;
    auto *plugin_test_cmd = add_plugin_test_command(app, test_request);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp &e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) {
        app.exit(e);
        return kExitConfig;
    }

    if (run->parsed()) return loop::run(run_options);
    if (check_config_cmd->parsed()) return check_config(config_path);
    if (plugins->parsed()) return list_plugins(config_path, dirs, json);
    if (plugin_test_cmd->parsed()) return plugin_test(test_request);
    if (status_cmd->parsed()) return status(status_request);
    request.what = probe_what(*probe_cmd);
    request.family = family_number(family);
    return probe(request);
}

}  // namespace adf::cli
