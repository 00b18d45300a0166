/* The smallest check plugin there is: no config, no instance state. The
 * misbehaving test plugins supply only their check function. C and C++. */
#ifndef ADF_TEST_MINIMAL_CHECK_H
#define ADF_TEST_MINIMAL_CHECK_H

#include <stddef.h>

#include <autodnsfailover/plugin.h>

static int minimal_create(const adf_host_services *services, adf_host *host, void **instance) {
    (void)services;
    (void)host;
    *instance = NULL;
    return ADF_OK;
}

static void minimal_destroy(void *instance) { (void)instance; }

#define MINIMAL_CHECK_PLUGIN(NAME, SUMMARY, CHECK)                                              \
    static const adf_check_ops minimal_ops = {sizeof(adf_check_ops), CHECK};                   \
    ADF_PLUGIN_DESCRIPTOR = {sizeof(adf_plugin_descriptor), ADF_ABI_MAJOR, ADF_ABI_MINOR,        \
                             ADF_KIND_CHECK, 0, NAME, "1.0.0", SUMMARY, minimal_create,          \
                             minimal_destroy, &minimal_ops}

#endif
