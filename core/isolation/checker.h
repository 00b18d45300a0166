// The check helper's program (autodnsfailover-checker): a small, single-
// threaded process that the daemon starts at start and after each reload.
// It loads only the check plugin, creates its instance from the section the
// daemon sends, and then forks one child per check attempt (attempts.h),
// answering each request with a verdict. It holds no state of the daemon's
// other plugins or libraries, so forking it is cheap.
#pragma once

namespace adf::isolation {

// The helper's main: `autodnsfailover-checker --socket FD --parent PID`
// (started by the daemon only). Returns the exit status.
int checker_main(int argc, char **argv);

}  // namespace adf::isolation
