// `autodnsfailover status`: asks the running daemon over its control socket
// what it sees now, and prints it (text, or the daemon's JSON with --json).
// It never checks anything itself.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <autodnsfailover/json.hpp>

#include "cli/commands.h"
#include "config/config.h"
#include "service/listeners.h"
#include "state/store.h"
#include "util/exit_codes.h"

namespace adf::cli {

int status(const StatusRequest &request) {
    std::string socket = request.socket;
    if (socket.empty() && !request.config_path.empty()) {
        try {
            socket = config::load_file(request.config_path).control.socket;
        } catch (const std::exception &e) {
            print_error(e.what());
            return kExitConfig;
        }
        if (socket.empty()) {
            print_error(fmt::format("{}: control.socket is false: the daemon answers no `status`",
                                    request.config_path));
            return kExitConfig;
        }
    }
    if (socket.empty()) socket = config::kDefaultControlSocket;
    const auto answer = service::ask_unix(socket, "status", request.timeout);
    if (!answer) {
        print_error(fmt::format("no answer from the daemon: {} (is it running, and may this user "
                                "open the socket?)", answer.reason()));
        return kExitSelfCheckFailed;
    }
    const auto parsed = adf::json::parse(*answer);
    if (!parsed || !parsed->is_object() || parsed->contains("error")) {
        print_error(fmt::format("the daemon on {} answered oddly: {}", socket,
                                parsed && parsed->contains("error")
                                    ? adf::json::shown((*parsed)["error"])
                                    : answer->substr(0, 200)));
        return kExitSelfCheckFailed;
    }
    if (request.json)
        fmt::print("{}", *answer);
    else
        fmt::print("{}", state::render_text(*parsed));
    return kExitOk;
}

}  // namespace adf::cli
