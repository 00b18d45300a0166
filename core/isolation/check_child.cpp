#include "isolation/check_child.h"

#include <signal.h>
#include <unistd.h>

#include <initializer_list>

namespace adf::isolation {

void enter_check_child() {
    setpgid(0, 0);
    for (int sig : {SIGTERM, SIGINT, SIGHUP, SIGPIPE, SIGCHLD, SIGALRM, SIGUSR1, SIGUSR2})
        signal(sig, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
}

}  // namespace adf::isolation
