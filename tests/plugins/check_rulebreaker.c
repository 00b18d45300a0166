/* A check plugin that breaks one rule of plugin.h, chosen by its "fault"
 * key, for plugin-test to catch:
 *   "leak_fd"          check() leaves /dev/null open
 *   "leave_thread"     check() returns with a thread still running
 *   "no_reason"        check() says dead without set_error()
 *   "inherited_fd"     create() keeps a descriptor without FD_CLOEXEC
 *   "thread_in_create" create() starts a thread that keeps running
 *   "leak_in_destroy"  create() opens a file that destroy() never closes
 *   "slow_create"      create() takes 1.5 s
 *   "late"             check() ignores its timeout by 0.5 s, then says dead
 *   "none"             breaks nothing: a plain "dead, with a reason" check
 *   "execve"           breaks nothing either: replaces the check's child with
 *                      /bin/false, which plugin.h allows (exit status 1: dead)
 */
#define _POSIX_C_SOURCE 200809L

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <autodnsfailover/plugin.h>

struct rulebreaker {
    const adf_host_services *services;
    adf_host *host;
    const char *fault;
};

static void *sleep_forever(void *unused) {
    (void)unused;
    for (;;) sleep(3600);
    return NULL;
}

static void start_thread(void) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, sleep_forever, NULL) == 0) pthread_detach(thread);
}

static int is(const struct rulebreaker *self, const char *fault) {
    return strcmp(self->fault, fault) == 0;
}

static int rulebreaker_create(const adf_host_services *services, adf_host *host,
                              void **instance) {
    struct rulebreaker *self = malloc(sizeof *self);
    if (self == NULL) return ADF_FAILED;
    self->services = services;
    self->host = host;
    self->fault = "none";
    if (services->config_string(host, "/fault", &self->fault) == ADF_BAD_CONFIG) {
        free(self);
        return ADF_BAD_CONFIG;
    }
    if (is(self, "inherited_fd") || is(self, "leak_in_destroy"))
        (void)open("/dev/null", is(self, "inherited_fd") ? O_RDONLY : O_RDONLY | O_CLOEXEC);
    if (is(self, "thread_in_create")) start_thread();
    if (is(self, "slow_create")) {
        const struct timespec pause = {1, 500000000};
        nanosleep(&pause, NULL);
    }
    *instance = self;
    return ADF_OK;
}

static void rulebreaker_destroy(void *instance) { free(instance); }

static int rulebreaker_check(void *instance, const char *address, int family, double timeout) {
    const struct rulebreaker *self = instance;
    (void)address;
    (void)family;
    if (is(self, "leak_fd")) (void)open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (is(self, "leave_thread")) start_thread();
    if (is(self, "no_reason")) return ADF_FAILED;
    if (is(self, "execve")) {
        char *const argv[] = {(char *)"/bin/false", NULL};
        execv(argv[0], argv);
    }
    if (is(self, "late")) {
        const double late = timeout + 0.5;
        const struct timespec pause = {(time_t)late, (long)((late - (double)(time_t)late) * 1e9)};
        nanosleep(&pause, NULL);
    }
    self->services->set_error(self->host, "dead by design");
    return ADF_FAILED;
}

static const adf_check_ops rulebreaker_ops = {sizeof(adf_check_ops), rulebreaker_check};

ADF_PLUGIN_DESCRIPTOR = {sizeof(adf_plugin_descriptor), ADF_ABI_MAJOR, ADF_ABI_MINOR,
                         ADF_KIND_CHECK, 0, "check-rulebreaker", "1.0.0",
                         "breaks the plugin rule named by its fault key (for plugin-test)",
                         rulebreaker_create, rulebreaker_destroy, &rulebreaker_ops};
