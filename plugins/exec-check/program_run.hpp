// Runs one program to completion or to a deadline, in its own process group,
// stdin from /dev/null, stdout and stderr captured up to a limit. Whatever
// happens, the whole group is killed and reaped before run() returns, so
// background children the program left behind do not survive the check.
#ifndef ADF_PROGRAM_RUN_HPP
#define ADF_PROGRAM_RUN_HPP

#include <cstddef>
#include <string>
#include <vector>

#include <autodnsfailover/check_deadline.hpp>

namespace exec_check {

struct CapturedStream {
    std::string text;        // the first `limit` bytes
    size_t discarded = 0;    // bytes read past the limit and dropped
};

struct RunResult {
    bool started = false;
    int start_error = 0;   // errno of the failed exec when !started
    bool timed_out = false;
    int wait_status = 0;   // waitpid() status when started and not timed out
    CapturedStream out;
    CapturedStream err;
};

// `argv` is the program (searched in PATH when it has no "/") and its
// arguments; `environment` holds "NAME=value" entries.
RunResult run_program(const std::vector<std::string> &argv,
                      const std::vector<std::string> &environment, size_t output_limit,
                      const adf::CheckDeadline &deadline);

}  // namespace exec_check

#endif  // ADF_PROGRAM_RUN_HPP
