/* A check that never returns and ignores its timeout: only a kill ends it. */
#include <unistd.h>

#include "minimal_check.h"

static int check_hang(void *instance, const char *address, int family, double timeout) {
    (void)instance;
    (void)address;
    (void)family;
    (void)timeout;
    for (;;) sleep(3600);
    return ADF_OK;
}

MINIMAL_CHECK_PLUGIN("check-hang", "sleeps forever in every check, ignoring the timeout",
                     check_hang);
