// The commands behind the command line, each returning an exit code.
#pragma once

#include <string>
#include <vector>

namespace adf::cli {

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

}  // namespace adf::cli
