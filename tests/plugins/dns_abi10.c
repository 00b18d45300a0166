/* A dns plugin exactly as one built against ABI 1.0 looks: abi_minor 0 and
 * the 1.0 adf_dns_ops, which ends after `remove` (validate_name came with
 * 1.1). The host must load it and must not read past its ops table; its
 * reads are always empty. */
#include <stddef.h>
#include <stdint.h>

#include <autodnsfailover/plugin.h>

/* adf_dns_ops as ABI 1.0 defined it. */
typedef struct dns_ops_1_0 {
    uint32_t struct_size;
    uint32_t capabilities;
    int (*read)(void *instance, const char *fqdn, int family, adf_record_sink *sink);
    int (*add)(void *instance, const char *fqdn, int family, const adf_record_set *expected,
               const adf_record *record);
    int (*remove)(void *instance, const char *fqdn, int family, const adf_record_set *expected,
                  const char *address);
} dns_ops_1_0;

static int abi10_create(const adf_host_services *services, adf_host *host, void **instance) {
    (void)services;
    (void)host;
    *instance = NULL;
    return ADF_OK;
}

static void abi10_destroy(void *instance) { (void)instance; }

static int abi10_read(void *instance, const char *fqdn, int family, adf_record_sink *sink) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)sink;
    return ADF_OK;
}

static int abi10_add(void *instance, const char *fqdn, int family, const adf_record_set *expected,
                     const adf_record *record) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)expected;
    (void)record;
    return ADF_FAILED;
}

static int abi10_remove(void *instance, const char *fqdn, int family,
                        const adf_record_set *expected, const char *address) {
    (void)instance;
    (void)fqdn;
    (void)family;
    (void)expected;
    (void)address;
    return ADF_FAILED;
}

static const dns_ops_1_0 abi10_ops = {sizeof(dns_ops_1_0), 0, abi10_read, abi10_add,
                                      abi10_remove};

ADF_PLUGIN_DESCRIPTOR = {sizeof(adf_plugin_descriptor),
                         1,
                         0,
                         ADF_KIND_DNS,
                         0,
                         "dns-abi10",
                         "1.0.0",
                         "a dns plugin built against ABI 1.0 (no validate_name)",
                         abi10_create,
                         abi10_destroy,
                         &abi10_ops};
