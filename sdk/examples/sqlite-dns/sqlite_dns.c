/*
 * sqlite-dns: an example dns plugin in C. The records live in an SQLite
 * database that every daemon of a pool on one machine (or sharing a file
 * system that does POSIX locking) opens:
 *
 *   "dns": {"plugin": "sqlite-dns", "path": "/var/lib/autodnsfailover/pool.db", "ttl": 60}
 *
 * What it shows: a true compare-and-swap (ADF_DNS_ATOMIC_CAS). add and remove
 * run in one write transaction (BEGIN IMMEDIATE) that re-reads the set and
 * changes it only when it still equals what the host expected, so two
 * daemons can never both act on the same stale set; notes are kept
 * (ADF_DNS_NOTES); a read that fails is an error, never an empty set; the
 * last record is never removed; and nothing stays open between calls (each
 * call opens and closes the database), so the host's forked check children
 * inherit no descriptor and no lock of this plugin.
 *
 * Table: records(name, family, address, ttl, note), one row per record.
 */
#include <autodnsfailover/plugin.h>

#include <sqlite3.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sqlite_dns {
    const adf_host_services *services; /* host-owned, valid until destroy() */
    adf_host *host;                    /* host-owned, valid until destroy() */
    const char *path;                  /* host-owned, lives as long as the instance */
    int64_t ttl;                       /* for a new set */
    double busy_timeout;               /* seconds to wait for another writer */
};

static const char *const kSchema =
    "CREATE TABLE IF NOT EXISTS records (name TEXT NOT NULL, family INTEGER NOT NULL,"
    " address TEXT NOT NULL, ttl INTEGER NOT NULL, note TEXT,"
    " PRIMARY KEY (name, family, address))";

/* Says why the call failed, "<what> <path>: <SQLite's message>", and
 * returns the status: ADF_TRANSIENT when another writer held the lock
 * longer than busy_timeout, else ADF_FAILED. */
static int failure(const struct sqlite_dns *self, sqlite3 *db, const char *what)
{
    char reason[512];
    const int code = db != NULL ? sqlite3_errcode(db) : SQLITE_NOMEM;

    snprintf(reason, sizeof reason, "%s %s: %s", what, self->path,
             db != NULL ? sqlite3_errmsg(db) : "out of memory");
    self->services->set_error(self->host, reason);
    return code == SQLITE_BUSY || code == SQLITE_LOCKED ? ADF_TRANSIENT : ADF_FAILED;
}

/* Opens `path` with its table; SQLITE_OK or the failing step's code, with
 * *db set either way (close it). */
static int open_with_table(const char *path, double busy_timeout, int flags, sqlite3 **db)
{
    int code = sqlite3_open_v2(path, db, flags, NULL);

    if (code == SQLITE_OK)
        code = sqlite3_busy_timeout(*db, (int)(busy_timeout * 1000));
    if (code == SQLITE_OK)
        code = sqlite3_exec(*db, kSchema, NULL, NULL, NULL);
    return code;
}

/* Opens the database for one call; NULL, with the error set, on failure. */
static sqlite3 *open_database(const struct sqlite_dns *self)
{
    sqlite3 *db = NULL;

    if (open_with_table(self->path, self->busy_timeout, SQLITE_OPEN_READWRITE, &db) !=
        SQLITE_OK) {
        failure(self, db, "cannot open the database");
        sqlite3_close(db);
        return NULL;
    }
    return db;
}

/* Main thread. Reads the keys and creates the database and its table once,
 * so that a wrong path is a config error at start rather than a failure at
 * the first round: local file I/O of a few milliseconds, which create() may
 * do. Nothing stays open. */
static int sqlite_dns_create(const adf_host_services *services, adf_host *host, void **instance)
{
    struct sqlite_dns *self = calloc(1, sizeof *self);
    sqlite3 *db = NULL;
    int bad = 0;

    if (self == NULL)
        return ADF_FAILED;
    self->services = services;
    self->host = host;
    self->ttl = 60;
    self->busy_timeout = 5;
    if (services->config_string(host, "/path", &self->path) == ADF_ABSENT) {
        services->config_error(host, "/path", "required: the SQLite database file");
        bad = 1;
    }
    bad |= services->config_integer(host, "/ttl", 1, 2147483647, &self->ttl) == ADF_BAD_CONFIG;
    bad |= services->config_number(host, "/busy_timeout", 0, 60, &self->busy_timeout) ==
           ADF_BAD_CONFIG;
    if (!bad && self->path != NULL &&
        open_with_table(self->path, self->busy_timeout,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, &db) != SQLITE_OK) {
        char reason[600];

        snprintf(reason, sizeof reason, "cannot open or create it as an SQLite database: %s",
                 db != NULL ? sqlite3_errmsg(db) : "out of memory");
        services->config_error(host, "/path", reason);
        bad = 1;
    }
    sqlite3_close(db);
    if (bad || self->path == NULL) {
        free(self);
        return ADF_BAD_CONFIG;
    }
    *instance = self;
    return ADF_OK;
}

static void sqlite_dns_destroy(void *instance)
{
    free(instance);
}

/* The statement selecting the set of (name, family), sorted. */
static sqlite3_stmt *select_set(sqlite3 *db, const char *fqdn, int family)
{
    sqlite3_stmt *stmt = NULL;

    if (sqlite3_prepare_v2(db,
                           "SELECT address, ttl, note FROM records WHERE name = ?1 AND family = ?2"
                           " ORDER BY address",
                           -1, &stmt, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(stmt, 1, fqdn, -1, SQLITE_STATIC);
    sqlite3_bind_int(stmt, 2, family);
    return stmt;
}

static int sqlite_dns_read(void *instance, const char *fqdn, int family, adf_record_sink *sink)
{
    const struct sqlite_dns *self = instance;
    sqlite3 *db = open_database(self);
    sqlite3_stmt *stmt;
    int step, status = ADF_OK;

    if (db == NULL)
        return ADF_FAILED;
    stmt = select_set(db, fqdn, family);
    if (stmt == NULL) {
        status = failure(self, db, "cannot read");
        sqlite3_close(db);
        return status;
    }
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *note = (const char *)sqlite3_column_text(stmt, 2);

        status = self->services->emit_record(sink, (const char *)sqlite3_column_text(stmt, 0),
                                             (uint32_t)sqlite3_column_int64(stmt, 1), note);
        if (status != ADF_OK)
            break; /* the host says which value it refused */
    }
    if (status == ADF_OK && step != SQLITE_DONE)
        status = failure(self, db, "cannot read"); /* never a partial set */
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return status;
}

/* Inside the write transaction: ADF_OK when the stored set is exactly
 * `expected`, ADF_CONFLICT (with both sets in the reason) when it is not.
 * *count receives the stored set's size, *present whether `address` is in it. */
static int compare_with_expected(const struct sqlite_dns *self, sqlite3 *db, const char *fqdn,
                                 int family, const adf_record_set *expected, const char *address,
                                 size_t *count, int *present)
{
    sqlite3_stmt *stmt = select_set(db, fqdn, family);
    char stored[1024] = "";
    int same = 1, step;

    *count = 0;
    *present = 0;
    if (stmt == NULL)
        return failure(self, db, "cannot read");
    while ((step = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *value = (const char *)sqlite3_column_text(stmt, 0);
        int found = 0;
        size_t i;

        for (i = 0; i < expected->count; ++i)
            found |= strcmp(ADF_RECORD_AT(expected, i)->address, value) == 0;
        same &= found;
        *present |= strcmp(value, address) == 0;
        ++*count;
        snprintf(stored + strlen(stored), sizeof stored - strlen(stored), "%s%s",
                 *count > 1 ? " " : "", value);
    }
    sqlite3_finalize(stmt);
    if (step != SQLITE_DONE)
        return failure(self, db, "cannot read");
    if (same && *count == expected->count)
        return ADF_OK;
    {
        char reason[1200];

        snprintf(reason, sizeof reason,
                 "%s changed since it was read (%zu record(s) expected, now: %s); nothing was"
                 " changed",
                 fqdn, expected->count, *count ? stored : "none");
        self->services->set_error(self->host, reason);
    }
    return ADF_CONFLICT;
}

/* Runs `sql`, a write whose parameters are ?1 name, ?2 family, ?3 address
 * and, for an insert, ?4 ttl and ?5 note; then commits. Rolls back on any
 * failure. */
static int write_and_commit(const struct sqlite_dns *self, sqlite3 *db, const char *sql,
                            const char *fqdn, int family, const char *address, int64_t ttl,
                            const char *note)
{
    sqlite3_stmt *stmt = NULL;
    int status = ADF_OK;

    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        status = failure(self, db, "cannot write to");
    } else {
        sqlite3_bind_text(stmt, 1, fqdn, -1, SQLITE_STATIC);
        sqlite3_bind_int(stmt, 2, family);
        sqlite3_bind_text(stmt, 3, address, -1, SQLITE_STATIC);
        if (sqlite3_bind_parameter_count(stmt) == 5) {
            sqlite3_bind_int64(stmt, 4, ttl);
            if (note != NULL)
                sqlite3_bind_text(stmt, 5, note, -1, SQLITE_STATIC);
        }
        if (sqlite3_step(stmt) != SQLITE_DONE)
            status = failure(self, db, "cannot write to");
        sqlite3_finalize(stmt);
    }
    if (status == ADF_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        status = failure(self, db, "cannot commit to");
    if (status != ADF_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return status;
}

enum change { ADD, REMOVE };

/* Not an adf_status: the set already is what the change would make. */
#define NOTHING_TO_DO (-1)

/* add and remove: one write transaction that compares, then changes. */
static int change_set(const struct sqlite_dns *self, enum change change, const char *fqdn,
                      int family, const adf_record_set *expected, const char *address,
                      uint32_t ttl, const char *note)
{
    sqlite3 *db = open_database(self);
    size_t count = 0;
    int present = 0, status;

    if (db == NULL)
        return ADF_FAILED;
    /* IMMEDIATE: the write lock from the start, so the comparison and the
     * change see the same set whatever other daemons do meanwhile. */
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        status = failure(self, db, "cannot lock");
        sqlite3_close(db);
        return status;
    }
    status = compare_with_expected(self, db, fqdn, family, expected, address, &count, &present);
    if (status == ADF_OK && (change == ADD ? present : !present))
        status = NOTHING_TO_DO;
    if (status == ADF_OK && change == REMOVE && count <= 1) {
        /* The host never asks; refusing is a second safeguard. */
        self->services->set_error(self->host, "refusing to remove the last record of the name");
        status = ADF_FAILED;
    }
    if (status == ADF_OK && change == ADD)
        status = write_and_commit(self, db,
                                  "INSERT INTO records (name, family, address, ttl, note)"
                                  " VALUES (?1, ?2, ?3, ?4, ?5)",
                                  fqdn, family, address, ttl != 0 ? ttl : self->ttl, note);
    else if (status == ADF_OK)
        status = write_and_commit(self, db,
                                  "DELETE FROM records WHERE name = ?1 AND family = ?2"
                                  " AND address = ?3",
                                  fqdn, family, address, 0, NULL);
    else
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return status == NOTHING_TO_DO ? ADF_OK : status;
}

static int sqlite_dns_add(void *instance, const char *fqdn, int family,
                          const adf_record_set *expected, const adf_record *record)
{
    return change_set(instance, ADD, fqdn, family, expected, record->address, record->ttl,
                      record->note);
}

static int sqlite_dns_remove(void *instance, const char *fqdn, int family,
                             const adf_record_set *expected, const char *address)
{
    return change_set(instance, REMOVE, fqdn, family, expected, address, 0, NULL);
}

static const adf_dns_ops sqlite_dns_ops = {
    .struct_size = sizeof(adf_dns_ops),
    .capabilities = ADF_DNS_ATOMIC_CAS | ADF_DNS_NOTES,
    .read = sqlite_dns_read,
    .add = sqlite_dns_add,
    .remove = sqlite_dns_remove,
};

ADF_PLUGIN_DESCRIPTOR = {
    .struct_size = sizeof(adf_plugin_descriptor),
    .abi_major = ADF_ABI_MAJOR,
    .abi_minor = ADF_ABI_MINOR,
    .kind = ADF_KIND_DNS,
    .name = "sqlite-dns",
    .version = "1.0.0",
    .summary = "Records in an SQLite database, compare-and-swap writes (SDK example in C)",
    .create = sqlite_dns_create,
    .destroy = sqlite_dns_destroy,
    .ops = &sqlite_dns_ops,
};
