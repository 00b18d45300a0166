#include "util/thread.h"

#include <pthread.h>
#include <signal.h>

#include <utility>

namespace adf {

std::thread thread_without_signals(std::function<void()> body) {
    sigset_t blocked, previous;
    sigemptyset(&blocked);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&blocked, sig);
    pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    std::thread thread(std::move(body));
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return thread;
}

}  // namespace adf
