// What a process forked to run one check() does first, wherever it is
// forked (the daemon's check runner, plugin-test): it becomes the leader of
// a process group of its own, so that killing the group at the timeout
// ends everything the check started, and it restores default signal
// handling with nothing blocked, so that the check and the programs it runs
// do not inherit the daemon's handlers or mask.
#pragma once

namespace adf::isolation {

void enter_check_child();

}  // namespace adf::isolation
