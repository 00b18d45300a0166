// The command line: run, check-config, plugins, probe, --version, --help.
#pragma once

namespace adf::cli {

// Exit codes, as the README lists them.
enum ExitCode {
    kExitOk = 0,
    kExitSelfCheckFailed = 1,  // a supervisor should restart the daemon
    kExitConfig = 2,           // config, usage or plugin error: do not restart in a loop
    kExitTransient = 3,        // probe: the backend failed for now
    kExitConflict = 4,         // probe: the record set changed under us
};

int main(int argc, char **argv);

}  // namespace adf::cli
