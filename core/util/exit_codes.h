// Exit codes of every command, as the README lists them.
#pragma once

namespace adf {

enum ExitCode {
    kExitOk = 0,
    kExitSelfCheckFailed = 1,  // run: a supervisor should restart the daemon; probe: failed/dead
    kExitConfig = 2,           // config, usage or plugin error: do not restart in a loop
    kExitTransient = 3,        // probe: the backend failed for now
    kExitConflict = 4,         // probe: the record set changed under us
};

}  // namespace adf
