// exec-check: a peer is alive when a program exits with status 0. The
// program is run directly (no shell) with "{address}" and "{family}" in its
// arguments replaced by the peer's address and 4 or 6; Nagios-style plugins
// fit as they are. See program_run.hpp for how it is run and cleaned up.
#include <autodnsfailover/check_deadline.hpp>
#include <autodnsfailover/plugin.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "program_run.hpp"

extern char **environ;

namespace {

using adf::seconds_text;

constexpr size_t kReasonOutputChars = 200;  // program output quoted in a reason

void replace_all(std::string &text, const std::string &from, const std::string &to) {
    for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
        text.replace(at, from.size(), to);
}

// An object member name as a JSON Pointer token (RFC 6901).
std::string pointer_token(const std::string &name) {
    std::string token = name;
    replace_all(token, "~", "~0");
    replace_all(token, "/", "~1");
    return token;
}

// The first non-empty line of `text`, shortened for a log line.
std::string first_line(const std::string &text) {
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        if (end == std::string::npos) end = text.size();
        std::string line = text.substr(start, end - start);
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
        if (!line.empty())
            return line.size() > kReasonOutputChars ? line.substr(0, kReasonOutputChars) + "..." : line;
        start = end + 1;
    }
    return "";
}

class ExecCheck {
   public:
    explicit ExecCheck(adf::Host &host)
        : host_(host),
          output_limit_(static_cast<size_t>(host.integer("/output_limit", 4096, 0, 16 << 20))) {
        read_command(host);
        read_environment(host);
    }

    bool check(const std::string &address, int family, double timeout) const {
        const adf::CheckDeadline deadline(timeout);
        const std::vector<std::string> argv = arguments_for(address, family);
        const exec_check::RunResult run =
            exec_check::run_program(argv, environment(), output_limit_, deadline);
        if (!run.started) {
            host_.set_error("cannot run " + argv[0] + ": " + std::strerror(run.start_error));
            return false;
        }
        log_output("stdout", run.out);
        log_output("stderr", run.err);
        if (run.timed_out) {
            host_.set_error("timed out after " + seconds_text(timeout));
            return false;
        }
        if (WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 0) return true;
        std::string reason;
        if (WIFSIGNALED(run.wait_status)) {
            const int signal_number = WTERMSIG(run.wait_status);
            reason = "killed by signal " + std::to_string(signal_number) + " (" +
                     strsignal(signal_number) + ")";
        } else {
            reason = "exited with status " + std::to_string(WEXITSTATUS(run.wait_status));
        }
        // Error text usually goes to stderr, a Nagios plugin's status to stdout.
        std::string said = first_line(run.err.text);
        if (said.empty()) said = first_line(run.out.text);
        host_.set_error(said.empty() ? reason : reason + ": " + said);
        return false;
    }

   private:
    void read_command(adf::Host &host) {
        const std::optional<std::string> json = host.json("/command");
        if (!json) {
            if (!host.has("/command"))
                host.config_error("/command", "required: the program and its arguments as a list "
                                              "of strings, e.g. [\"/usr/bin/check\", \"{address}\"]");
            return;
        }
        if (json->empty() || (*json)[0] != '[') {
            host.config_error("/command", "expected a list of strings (the program and its "
                                          "arguments; no shell runs it)");
            return;
        }
        for (size_t i = 0, n = host.count("/command"); i < n; ++i) {
            const std::string path = "/command/" + std::to_string(i);
            if (std::optional<std::string> argument = host.string(path.c_str()))
                command_.push_back(*argument);
        }
        if (host.count("/command") == 0)
            host.config_error("/command", "must not be empty: it names the program to run");
        else if (!command_.empty() && command_[0].empty())
            host.config_error("/command/0", "must not be empty: it names the program to run");
        else if (!command_.empty())
            check_program(host, command_[0]);
    }

    // An absolute path is checked now, so that a typo fails at startup.
    static void check_program(adf::Host &host, const std::string &program) {
        if (program[0] != '/' || program.find('{') != std::string::npos) return;
        struct stat info {};
        if (stat(program.c_str(), &info) != 0)
            host.config_error("/command/0", program + ": " + std::strerror(errno));
        else if (!S_ISREG(info.st_mode))
            host.config_error("/command/0", program + ": not a regular file");
        else if (access(program.c_str(), X_OK) != 0)
            host.config_error("/command/0", program + ": not executable (" +
                                                std::strerror(errno) + ")");
    }

    void read_environment(adf::Host &host) {
        const std::optional<std::string> json = host.json("/env");
        if (!json) return;
        if (json->empty() || (*json)[0] != '{') {
            host.config_error("/env", "expected an object of environment variables, "
                                      "{\"NAME\": \"value\", ...}");
            return;
        }
        for (const std::string &name : host.members("/env")) {
            const std::string path = "/env/" + pointer_token(name);
            if (name.empty() || name.find('=') != std::string::npos) {
                host.config_error(path.c_str(), "is not a valid environment variable name");
                continue;
            }
            if (std::optional<std::string> value = host.string(path.c_str()))
                extra_environment_[name] = *value;
        }
    }

    std::vector<std::string> arguments_for(const std::string &address, int family) const {
        std::vector<std::string> argv = command_;
        for (std::string &argument : argv) {
            replace_all(argument, "{address}", address);
            replace_all(argument, "{family}", std::to_string(family));
        }
        return argv;
    }

    // Ours with the configured variables added or replacing ours.
    std::vector<std::string> environment() const {
        std::vector<std::string> entries;
        for (char **entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
            const std::string text = *entry;
            if (extra_environment_.count(text.substr(0, text.find('='))) == 0)
                entries.push_back(text);
        }
        for (const auto &[name, value] : extra_environment_) entries.push_back(name + "=" + value);
        return entries;
    }

    void log_output(const char *stream_name, const exec_check::CapturedStream &stream) const {
        if (stream.text.empty() && stream.discarded == 0) return;
        std::string line = std::string(stream_name) + ": " + stream.text;
        if (stream.discarded > 0)
            line += " [" + std::to_string(stream.discarded) + " more bytes discarded]";
        host_.debug(line);
    }

    adf::Host &host_;
    size_t output_limit_;
    std::vector<std::string> command_;
    std::map<std::string, std::string> extra_environment_;
};

}  // namespace

ADF_CHECK_PLUGIN(ExecCheck, "exec-check", "1.0.0",
                 "runs a program (Nagios-plugin style): alive when it exits with status 0");
