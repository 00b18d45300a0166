/* A check that crashes: it writes through a NULL pointer (SIGSEGV). */
#include "minimal_check.h"

static int check_segfault(void *instance, const char *address, int family, double timeout) {
    (void)instance;
    (void)address;
    (void)family;
    (void)timeout;
    /* The pointer is read from volatile storage, so the compiler cannot see
     * the NULL and turn the store into a trap (SIGILL); the target is
     * volatile, so an optimised build cannot drop the store as dead. */
    volatile int *volatile nowhere = NULL;
    *nowhere = 1;
    return ADF_OK;
}

MINIMAL_CHECK_PLUGIN("check-segfault", "crashes with SIGSEGV in every check", check_segfault);
