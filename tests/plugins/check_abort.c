/* A check that calls abort() (SIGABRT). */
#include <stdlib.h>

#include "minimal_check.h"

static int check_abort(void *instance, const char *address, int family, double timeout) {
    (void)instance;
    (void)address;
    (void)family;
    (void)timeout;
    abort();
}

MINIMAL_CHECK_PLUGIN("check-abort", "calls abort() in every check", check_abort);
