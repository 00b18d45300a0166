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
#ifndef VARIANT_KIND
#define VARIANT_KIND ADF_KIND_CHECK
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

/* A dns ops table, for the variant whose kind says check but whose ops are
 * a dns plugin's (VARIANT_OPS=&variant_dns_ops). */
__attribute__((unused)) static int variant_read(void *instance, const char *fqdn, int family,
                                                adf_record_sink *sink) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)sink;
    return ADF_OK;
}
__attribute__((unused)) static int variant_add(void *instance, const char *fqdn, int family,
                                               const adf_record_set *expected,
                                               const adf_record *record) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)expected;
    (void)record;
    return ADF_OK;
}
__attribute__((unused)) static int variant_remove(void *instance, const char *fqdn, int family,
                                                  const adf_record_set *expected,
                                                  const char *address) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)expected;
    (void)address;
    return ADF_OK;
}
__attribute__((unused)) static const adf_dns_ops variant_dns_ops = {
    sizeof(adf_dns_ops), 0, variant_read, variant_add, variant_remove, NULL, NULL};

ADF_PLUGIN_DESCRIPTOR = {VARIANT_DESCRIPTOR_SIZE,
                         VARIANT_ABI_MAJOR,
                         VARIANT_ABI_MINOR,
                         VARIANT_KIND,
                         0,
                         VARIANT_NAME,
                         "1.0.0",
                         "test plugin with one odd descriptor field (its file name says which)",
                         minimal_create,
                         minimal_destroy,
                         VARIANT_OPS};
