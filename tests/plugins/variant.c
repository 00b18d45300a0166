/* A check plugin whose descriptor fields come from compile definitions, so
 * that one source yields every malformed variant the loader must refuse
 * (tests/plugins/CMakeLists.txt lists them). */
#include "minimal_check.h"

#ifndef VARIANT_NAME
#error "define VARIANT_NAME: the name the descriptor declares"
#endif
#ifndef VARIANT_ABI_MAJOR
#define VARIANT_ABI_MAJOR ADF_ABI_MAJOR
#endif
#ifndef VARIANT_ABI_MINOR
#define VARIANT_ABI_MINOR ADF_ABI_MINOR
#endif
#ifndef VARIANT_DESCRIPTOR_SIZE
#define VARIANT_DESCRIPTOR_SIZE sizeof(adf_plugin_descriptor)
#endif
#ifndef VARIANT_OPS_SIZE
#define VARIANT_OPS_SIZE sizeof(adf_check_ops)
#endif
#ifndef VARIANT_CHECK
#define VARIANT_CHECK variant_check
#endif
#ifndef VARIANT_OPS
#define VARIANT_OPS &variant_ops
#endif

__attribute__((unused)) static int variant_check(void *instance, const char *address, int family,
                                                 double timeout) {
    (void)instance;
    (void)address;
    (void)family;
    (void)timeout;
    return ADF_OK;
}

__attribute__((unused)) static const adf_check_ops variant_ops = {VARIANT_OPS_SIZE,
                                                                  VARIANT_CHECK};

ADF_PLUGIN_DESCRIPTOR = {VARIANT_DESCRIPTOR_SIZE,
                         VARIANT_ABI_MAJOR,
                         VARIANT_ABI_MINOR,
                         ADF_KIND_CHECK,
                         0,
                         VARIANT_NAME,
                         "1.0.0",
                         "test plugin with one odd descriptor field (its file name says which)",
                         minimal_create,
                         minimal_destroy,
                         VARIANT_OPS};
