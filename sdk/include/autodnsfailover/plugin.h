/*
 * autodnsfailover plugin SDK: the stable C ABI between the daemon (the host)
 * and its plugins. This header is the whole contract: a plugin includes it,
 * and nothing else of autodnsfailover, and never links against the host.
 *
 * Licence: MIT (SPDX-License-Identifier: MIT), like the rest of
 * autodnsfailover; see LICENSE. A permissive licence on purpose: a plugin
 * built against this header may carry any licence, proprietary included.
 *
 * ABI version 1.1 (1.1 appended adf_dns_ops.validate_name and
 * adf_dns_ops.remove_many; a 1.0 plugin still loads). Rules that hold for
 * everything below:
 *
 *  - Versioning. ADF_ABI_MAJOR changes when anything existing changes; the
 *    host refuses a plugin whose major differs. ADF_ABI_MINOR grows when
 *    something is appended; the host refuses a plugin built against a newer
 *    minor than its own. Structs only ever grow at their end, and each starts
 *    with `struct_size` so either side can tell which fields the other has.
 *  - Only C crosses. No exception may leave a plugin function (a C++ plugin
 *    catches everything at each entry point; plugin.hpp does it for you).
 *  - Status codes are `int` values of enum adf_status.
 *  - Strings are NUL-terminated UTF-8. Every pointer has one owner, named in
 *    its documentation: "host-owned" memory is allocated and freed by the
 *    host, "plugin-owned" memory by the plugin, and neither side ever frees
 *    the other's. Results flow into caller-owned buffers or host callbacks.
 *  - Threads. The daemon is single-threaded: every function here is called
 *    from the host's main thread, never concurrently for one instance, except
 *    adf_check_ops.check, which runs alone in a forked child process (see
 *    there). Two instances of one plugin may exist at once (while a reloaded
 *    config replaces the old one). A check plugin lives in a check helper,
 *    a single-threaded host process of its own that loads no other plugin
 *    and forks one child per check attempt; the other kinds live in the
 *    daemon, which forks no check.
 *  - Forks and file descriptors. Each check child starts with a copy of the
 *    check helper's memory and of every descriptor open in it, the check
 *    plugin's included, and a dns plugin may itself run programs (a reload
 *    command). Between calls a plugin therefore keeps:
 *      - no thread and no child process running (a thread holding a lock at
 *        fork() leaves that lock held forever in the child);
 *      - no lock held: fcntl()/lockf() locks belong to a process and are
 *        not inherited, but flock() locks belong to the open file and stay
 *        held while any child still has the descriptor; take locks inside a
 *        call and release them before returning;
 *      - only descriptors opened close-on-exec (O_CLOEXEC, SOCK_CLOEXEC), so
 *        that programs a check runs (exec-check) inherit none of them. Kept
 *        open this way (a database, an HTTP connection), they are safe: a
 *        check child never uses another instance's descriptors, and the
 *        child's copies close when it exits.
 *    check() itself runs in the child: it may fork and exec, but closes what
 *    it opened and leaves no thread or process running when it returns (the
 *    host kills the child's process group after every attempt, yet a check
 *    that cleans up gives the same result wherever it runs).
 *    `autodnsfailover plugin-test` checks these rules on a built plugin.
 *  - Loading. The host dlopen()s a plugin with RTLD_NOW | RTLD_LOCAL, reads
 *    and checks the descriptor `autodnsfailover_plugin` before calling any
 *    plugin function, and never unloads it. Keep static initialisers trivial:
 *    they run at dlopen(), before any check. Build with -fvisibility=hidden so
 *    that only the descriptor is exported.
 */
#ifndef AUTODNSFAILOVER_PLUGIN_H
#define AUTODNSFAILOVER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#define ADF_ABI_MAJOR 1
#define ADF_ABI_MINOR 1

/* The name of the one symbol a plugin exports. */
#define ADF_PLUGIN_SYMBOL "autodnsfailover_plugin"

#if defined(__GNUC__) || defined(__clang__)
#define ADF_EXPORT __attribute__((visibility("default")))
#else
#define ADF_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Results of plugin and host functions. */
enum adf_status {
    ADF_OK = 0,         /* done; for a check: the peer is alive */
    ADF_FAILED = 1,     /* did not work and retrying soon will not help; for a check: dead */
    ADF_TRANSIENT = 2,  /* did not work now (timeout, rate limit, 5xx): try again next round */
    ADF_CONFLICT = 3,   /* the record set differs from the expected one: nothing was changed */
    ADF_BAD_CONFIG = 4, /* the configuration is wrong; the message says which key */
    ADF_ABSENT = 5      /* there is no such thing: no address of that family, no such key */
};

/* The four kinds of plugin; a config slot accepts only its own kind. */
enum adf_kind {
    ADF_KIND_DNS = 1,
    ADF_KIND_IPADDR = 2,
    ADF_KIND_CHECK = 3,
    ADF_KIND_TIMER = 4
};

enum adf_log_level {
    ADF_LOG_DEBUG = 0,
    ADF_LOG_INFO = 1,
    ADF_LOG_WARNING = 2,
    ADF_LOG_ERROR = 3,
    ADF_LOG_CRITICAL = 4
};

/* Address families, as the numbers people say ("IPv4", "IPv6"). */
enum adf_family {
    ADF_FAMILY_IPV4 = 4, /* A records */
    ADF_FAMILY_IPV6 = 6  /* AAAA records */
};

/* Size of a buffer that holds any textual address with its NUL. */
#define ADF_ADDRESS_MAX 64

/* Opaque, host-owned. One adf_host exists per plugin instance, from before
 * create() until after destroy(); pass it back to every host service. */
typedef struct adf_host adf_host;

/* Opaque, host-owned. Valid only during the adf_dns_ops.read call that
 * received it. */
typedef struct adf_record_sink adf_record_sink;

/* One DNS record. In host-owned sets every pointer is host-owned and valid
 * for the duration of the call that received it: copy what you keep. */
typedef struct adf_record {
    const char *address; /* canonical text: "192.0.2.1", "2001:db8::1" */
    const char *note;    /* the record's note, or NULL when it has none */
    uint32_t ttl;        /* seconds */
    uint32_t reserved;   /* zero */
} adf_record;

/* A set of records of one name and family: what the host read. */
typedef struct adf_record_set {
    uint32_t struct_size; /* sizeof(adf_record_set) of the host */
    uint32_t record_size; /* stride of records[]: use ADF_RECORD_AT */
    size_t count;
    const adf_record *records; /* sorted numerically by address */
} adf_record_set;

/* The i-th record of a set, whatever size of adf_record the host has. */
#define ADF_RECORD_AT(set, i) \
    ((const adf_record *)((const char *)(set)->records + (size_t)(i) * (set)->record_size))

/*
 * Services the host hands to a plugin at create(). The table is host-owned
 * and lives until after destroy(); keep the pointer. Call these only from
 * inside a call the host made into the plugin (create, an op, destroy).
 *
 * Config paths are JSON Pointers (RFC 6901) relative to the plugin's own
 * section of the config file: "/port", "/headers/Host", "/statuses/0".
 * A string value anywhere may be written {"env": "NAME"} (the value of an
 * environment variable) or {"file": "PATH"} (a file's content less its
 * trailing newline) instead of inline: config_string resolves both, so
 * secrets never need to sit in the config file.
 * The host rejects a section holding a top-level key that the plugin did not
 * ask for during create() (a typo must not pass silently), so ask for every
 * key you support, even when you use the default.
 * Type and range errors are recorded by the host with the full JSON path
 * ("check.port: expected an integer from 1 to 65535"); create() then only has
 * to return ADF_BAD_CONFIG.
 */
typedef struct adf_host_services {
    uint32_t struct_size; /* sizeof(adf_host_services) of the host */
    uint16_t abi_major;   /* the host's ADF_ABI_MAJOR */
    uint16_t abi_minor;   /* the host's ADF_ABI_MINOR */

    /* Logs `message` (copied) at `level` (enum adf_log_level). The host adds
     * the plugin's name and the fqdn and peer of the current call. */
    void (*log)(adf_host *host, int level, const char *message);

    /* Says why the current call failed (copied; the last one wins). The host
     * puts it in its own log line about the failure. */
    void (*set_error)(adf_host *host, const char *message);

    /* Records a config error for `path` (both copied); create() should then
     * return ADF_BAD_CONFIG. For rules the typed getters cannot express. */
    void (*config_error)(adf_host *host, const char *path, const char *message);

    /* ADF_OK when `path` is present, ADF_ABSENT otherwise. */
    int (*config_has)(adf_host *host, const char *path);

    /* Typed getters. Each returns ADF_OK and sets *value when the key is
     * present and valid; ADF_ABSENT, leaving *value untouched, when it is not
     * there (so pre-set *value to your default); ADF_BAD_CONFIG, with the error
     * recorded, when it has the wrong type or is out of [min, max].
     * Strings: *value is host-owned and lives as long as the instance. */
    int (*config_string)(adf_host *host, const char *path, const char **value);
    int (*config_integer)(adf_host *host, const char *path, int64_t min, int64_t max,
                          int64_t *value);
    int (*config_number)(adf_host *host, const char *path, double min, double max,
                         double *value);
    int (*config_bool)(adf_host *host, const char *path, int *value);

    /* Arrays and objects: *count is the number of elements or members.
     * ADF_BAD_CONFIG when the value is a scalar. */
    int (*config_count)(adf_host *host, const char *path, size_t *count);
    /* The name of member `index` of the object at `path` (host-owned, lives as
     * long as the instance). Member values are then read at path + "/" + name
     * (with "~" written "~0" and "/" written "~1", as RFC 6901 says). */
    int (*config_member)(adf_host *host, const char *path, size_t index, const char **name);
    /* The value at `path` as compact JSON text (host-owned, lives as long as
     * the instance), for structures the getters do not cover. */
    int (*config_json)(adf_host *host, const char *path, const char **json);

    /* Hands one record to the host during adf_dns_ops.read. `address` is
     * validated and canonicalised by the host; a value that is not an
     * address of the family asked for returns ADF_FAILED and makes the whole
     * read fail (a record set is never taken partly). `note` may be NULL.
     * All strings are copied. */
    int (*emit_record)(adf_record_sink *sink, const char *address, uint32_t ttl,
                       const char *note);
} adf_host_services;

/*
 * DNS backends: read, add and remove the A (family 4) or AAAA (family 6)
 * records of one name. `fqdn` has no trailing dot. `instance` is what
 * create() returned. Return ADF_TRANSIENT for timeouts, throttling and server
 * errors, ADF_FAILED for errors that will repeat (bad credentials, unknown
 * zone), with set_error() saying which.
 */
enum adf_dns_capability {
    /* add/remove are atomic compare-and-swaps against `expected`: the
     * provider itself refuses the change when the set differs. Without this
     * flag the plugin re-reads and compares just before writing, which leaves
     * a short race the host takes into account. */
    ADF_DNS_ATOMIC_CAS = 1u << 0,
    /* Records keep a note (Zerigo notes, Route 53 has none, PowerDNS
     * comments...). */
    ADF_DNS_NOTES = 1u << 1
};

typedef struct adf_dns_ops {
    uint32_t struct_size;  /* sizeof(adf_dns_ops) of the plugin */
    uint32_t capabilities; /* enum adf_dns_capability flags */

    /* Reads every record of `fqdn` and `family`, calling emit_record once per
     * record. No records at all is ADF_OK with nothing emitted; anything that
     * prevents a complete read must be an error status, never an empty set.
     *
     * A read is complete or an error. Every field a record set needs (name,
     * type, TTL, values) must be present in the provider's answer and of its
     * type, the type spelt as DNS spells it ("A", never "a"); otherwise the
     * read fails (ADF_FAILED) with set_error() quoting what was wrong, cut to
     * a bounded length. Where the answer should hold only the records asked
     * for (a filtered listing, a DNS answer section), a record of another
     * name, type or class is such an error too, never skipped. What an answer
     * legitimately holds beside them (other names in a whole-zone listing,
     * other types at the name, DNSSEC signatures) is left out, provided it is
     * well-formed. record_sets.hpp has the checks in C++. */
    int (*read)(void *instance, const char *fqdn, int family, adf_record_sink *sink);

    /* Adds `record` to the set, provided the set is still `expected` (what
     * the host last read; host-owned, valid during the call). ADF_CONFLICT,
     * changing nothing, when it differs. record->ttl is the set's TTL, or 0
     * when the set is empty: then use your configured default TTL. */
    int (*add)(void *instance, const char *fqdn, int family, const adf_record_set *expected,
               const adf_record *record);

    /* Removes `address` from the set under the same condition. The host never
     * asks to remove the last record. */
    int (*remove)(void *instance, const char *fqdn, int family, const adf_record_set *expected,
                  const char *address);

    /* Appended in ABI 1.1. NULL, or absent from a 1.0 plugin's smaller table
     * (struct_size tells), means that every name is accepted.
     * Says whether this instance can manage `fqdn` (lower case, no trailing
     * dot): ADF_OK when it can; ADF_BAD_CONFIG, with set_error() saying why
     * ("not inside the zone example.test"), when it cannot. Called once per
     * name of the config, on the main thread, after create() and before any
     * other op; the host reports a refusal as a config error naming the name
     * and the plugin (check-config fails, a reload is refused). It runs for
     * check-config too: decide from the config alone, without the network. */
    int (*validate_name)(void *instance, const char *fqdn);

    /* Appended in ABI 1.1. Optional; read only when struct_size covers it.
     * Removes every address of `addresses` (`count` of them, at
     * least 1, canonical text, distinct, each one in `expected`) from the
     * set in ONE atomic conditional write: all of them or none, provided the
     * set is still `expected`; ADF_CONFLICT, changing nothing, when it
     * differs. The host never asks to remove every record of the set (and a
     * plugin refuses it, ADF_FAILED, should anyone ask).
     * `addresses` and the strings it points to are host-owned, valid during
     * the call. Main thread, like every dns op.
     * Set it only when the provider can make the change as one write (a
     * Route 53 change batch, one RFC 2136 update, one rewrite of a file
     * under its lock). NULL, or a table that ends before it: the host
     * removes one address at a time, each with a fresh read. */
    int (*remove_many)(void *instance, const char *fqdn, int family,
                       const adf_record_set *expected, const char *const *addresses,
                       size_t count);
} adf_dns_ops;

/* IP address discovery: the host's own address, asked every round. */
typedef struct adf_ipaddr_ops {
    uint32_t struct_size; /* sizeof(adf_ipaddr_ops) of the plugin */

    /* Writes the own address of `family` as text into `buffer` (caller-owned,
     * `buffer_size` bytes, at least ADF_ADDRESS_MAX). ADF_ABSENT when the host
     * has no address of that family (it then manages no record of it). The
     * host validates what it receives. */
    int (*own_address)(void *instance, int family, char *buffer, size_t buffer_size);
} adf_ipaddr_ops;

/* Health checks. */
typedef struct adf_check_ops {
    uint32_t struct_size; /* sizeof(adf_check_ops) of the plugin */

    /* Is the server at `address` alive? ADF_OK: alive; anything else: dead,
     * with set_error() saying why.
     * The instance is created (and destroyed) in the host's check helper
     * process; check() runs in a child process that the helper forks for this
     * one call, in a process group of its own, and kills with that whole
     * group when `timeout` seconds have passed, and again once the call has
     * returned; a crash or hang costs only this check, and the child dies
     * with the helper. Nothing the call changes in memory reaches the helper,
     * the daemon or later checks. Lines logged from it join the daemon's log.
     * Respecting `timeout` yourself still gives a clearer reason than being
     * killed. The call may replace the child with execve(): the program's
     * exit status 0 then means alive. */
    int (*check)(void *instance, const char *address, int family, double timeout);
} adf_check_ops;

/* Timers: when rounds run, and how long and how often a check is tried. */
typedef struct adf_timer_ops {
    uint32_t struct_size; /* sizeof(adf_timer_ops) of the plugin */

    /* When the next round should start, in seconds on the host's monotonic
     * clock, given `now` on that clock. Called once per round. */
    double (*next_check_time)(void *instance, double now);
    /* Seconds one check attempt may take before it is killed and failed. */
    double (*check_timeout)(void *instance);
    /* Attempts before a peer is declared dead (0 and 1 both mean one). */
    uint32_t (*retry)(void *instance);
} adf_timer_ops;

/*
 * The descriptor: a constant the plugin exports under ADF_PLUGIN_SYMBOL.
 * The host reads and checks it before calling any plugin function. It and
 * the strings and ops table it points to are plugin-owned and must stay
 * valid and unchanged for as long as the library is loaded (forever).
 */
typedef struct adf_plugin_descriptor {
    uint32_t struct_size; /* sizeof(adf_plugin_descriptor) of the plugin */
    uint16_t abi_major;   /* ADF_ABI_MAJOR the plugin was built with */
    uint16_t abi_minor;   /* ADF_ABI_MINOR the plugin was built with */
    uint32_t kind;        /* enum adf_kind */
    uint32_t reserved;    /* zero */
    const char *name;     /* e.g. "tcp-check": must match the name the config uses */
    const char *version;  /* the plugin's own version, e.g. "1.2.0" */
    const char *summary;  /* one line for `autodnsfailover plugins` */

    /* Creates an instance from the plugin's config section, read through
     * `services`. On ADF_OK *instance is plugin-owned until destroy(). On any
     * other status (ADF_BAD_CONFIG for config errors) nothing is kept and
     * destroy() is not called. Main thread.
     * What create() may do: it runs when the daemon starts, for every
     * `check-config` and `probe`, and on every reload (SIGHUP) while the
     * running instances keep working, so it must be quick and must not
     * depend on the network. It validates every key (config errors belong
     * here, not in the first round), may read local files and open
     * descriptors it keeps (close-on-exec, see the fork rules above), and
     * returns within a second. It does no network I/O (no provider calls,
     * no DNS lookups: a provider that is down must not stop the daemon from
     * starting or reloading; do that at the first call that needs it) and
     * starts no thread or process that outlives the call. */
    int (*create)(const adf_host_services *services, adf_host *host, void **instance);
    /* Frees an instance; called once, on the main thread, after its last op.
     * It closes every descriptor the instance kept (a reload creates a new
     * instance and destroys the old one, so anything left leaks each time). */
    void (*destroy)(void *instance);

    /* Plugin-owned ops table of the plugin's kind: adf_dns_ops, adf_ipaddr_ops,
     * adf_check_ops or adf_timer_ops. */
    const void *ops;
} adf_plugin_descriptor;

/* Defines the exported descriptor: ADF_PLUGIN_DESCRIPTOR = { ... }; */
#ifdef __cplusplus
#define ADF_PLUGIN_DESCRIPTOR \
    extern "C" ADF_EXPORT const adf_plugin_descriptor autodnsfailover_plugin
#else
#define ADF_PLUGIN_DESCRIPTOR ADF_EXPORT const adf_plugin_descriptor autodnsfailover_plugin
#endif

#ifdef __cplusplus
} /* extern "C" */
#endif

/* ABI guard: a layout change without a version bump fails the build. */
#ifdef __cplusplus
#define ADF_STATIC_ASSERT(cond, msg) static_assert(cond, msg)
#else
#define ADF_STATIC_ASSERT(cond, msg) _Static_assert(cond, msg)
#endif
#if UINTPTR_MAX == 0xffffffffffffffffu && ADF_ABI_MAJOR == 1 && ADF_ABI_MINOR == 1
ADF_STATIC_ASSERT(sizeof(adf_record) == 24, "adf_record layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_record_set) == 24, "adf_record_set layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_host_services) == 8 + 12 * 8,
                  "adf_host_services layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_dns_ops) == 8 + 5 * 8, "adf_dns_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(offsetof(adf_dns_ops, validate_name) == 32,
                  "adf_dns_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(offsetof(adf_dns_ops, remove_many) == 40,
                  "adf_dns_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_ipaddr_ops) == 16, "adf_ipaddr_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_check_ops) == 16, "adf_check_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_timer_ops) == 32, "adf_timer_ops layout changed: bump the ABI");
ADF_STATIC_ASSERT(sizeof(adf_plugin_descriptor) == 64,
                  "adf_plugin_descriptor layout changed: bump the ABI");
ADF_STATIC_ASSERT(offsetof(adf_plugin_descriptor, name) == 16,
                  "adf_plugin_descriptor layout changed: bump the ABI");
ADF_STATIC_ASSERT(offsetof(adf_plugin_descriptor, ops) == 56,
                  "adf_plugin_descriptor layout changed: bump the ABI");
ADF_STATIC_ASSERT(offsetof(adf_host_services, emit_record) == 96,
                  "adf_host_services layout changed: bump the ABI");
#endif

#endif /* AUTODNSFAILOVER_PLUGIN_H */
