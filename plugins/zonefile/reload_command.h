// Runs the configured reload command (argv, no shell) with a time limit, so
// that the DNS server picks up the zone file that was just written.
#pragma once

#include <string>
#include <vector>

namespace zonefile {

struct CommandOutcome {
    bool ok = false;      // started and exited with status 0 in time
    std::string summary;  // for the log: exit status / signal / timeout / why it did not start
    std::string stderr_text;  // what it wrote to stderr (at most 4 KiB, trimmed)
};

// Starts argv[0] (looked up in PATH) with argv as arguments, stdin and stdout
// on /dev/null, and waits at most `timeout` seconds; then kills its whole
// process group.
CommandOutcome run_command(const std::vector<std::string> &argv, double timeout);

// The command as one line for messages: words quoted where needed.
std::string describe_command(const std::vector<std::string> &argv);

}  // namespace zonefile
