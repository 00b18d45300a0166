/* A check that leaves a grandchild behind: it forks a process that sleeps
 * 1000 s (in the check's process group) and returns "alive" at once. The
 * host must kill the whole process group, or the sleeper outlives it. */
#include <sys/types.h>
#include <unistd.h>

#include "minimal_check.h"

static int check_orphan(void *instance, const char *address, int family, double timeout) {
    (void)instance;
    (void)address;
    (void)family;
    (void)timeout;
    const pid_t pid = fork();
    if (pid < 0) return ADF_FAILED;
    if (pid == 0) {
        sleep(1000);
        _exit(0);
    }
    return ADF_OK;
}

MINIMAL_CHECK_PLUGIN("check-orphan", "forks a 1000 s sleeper in every check, then says alive",
                     check_orphan);
