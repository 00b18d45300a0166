// The commands behind the command line, each returning an exit code.
#pragma once

#include <string>
#include <vector>

namespace adf::cli {

// "autodnsfailover: error: MESSAGE" on stderr.
void print_error(const std::string &message);

int check_config(const std::string &config_path);
int list_plugins(const std::string &config_path, const std::vector<std::string> &dirs, bool json);

struct ProbeRequest {
    std::string config_path;
    std::string what;     // "ipaddr", "check", "dns read", "dns add", "dns remove"
    std::string target;   // the address to check, or the fqdn
    std::string address;  // dns add/remove
    int family = 4;
    double timeout = 0;   // check: 0 = the timer's
    unsigned ttl = 0;
    std::string note;
    bool force = false;   // dns remove: below safety.min_records (never the last record)
};
int probe(const ProbeRequest &request);

// `status`: what the running daemon sees, asked over its control socket.
struct StatusRequest {
    std::string config_path;  // its control.socket; empty: `socket`, else the default
    std::string socket;
    bool json = false;
    double timeout = 5;
};
// 0: the daemon answered; 1: no daemon answered; 2: config or usage error.
int status(const StatusRequest &request);

// `plugin-test`: one plugin's contract, exercised (core/cli/plugin_test.cpp).
struct PluginTestRequest {
    std::string plugin_path;             // the .so
    std::string section_path;            // its config section as JSON; empty: {}
    std::string name;                    // dns: a scratch name without records
    std::vector<std::string> addresses;  // check: addresses to check (default 127.0.0.1)
    std::string silent_address;          // check: an address that drops every packet
    double timeout = 1.0;                // check: seconds per call
};
// 0: every rule holds; 1: a rule does not; 2: usage, config or plugin error.
int plugin_test(const PluginTestRequest &request);

}  // namespace adf::cli
