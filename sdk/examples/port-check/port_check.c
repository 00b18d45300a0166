/*
 * port-check: an example check plugin in C. A peer is alive when it accepts
 * a TCP connection on the configured port within the check's timeout.
 *
 *   "check": {"plugin": "port-check", "port": 443}
 *
 * What it shows: reading a required key in create(), a check that keeps to
 * its own deadline (it gives up a little before the host would kill it, so
 * the reason is its own), sockets opened close-on-exec and closed before
 * returning, and set_error() for every "dead".
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, also under -std=c11 */

#include <autodnsfailover/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct port_check {
    const adf_host_services *services; /* host-owned, valid until destroy() */
    adf_host *host;                    /* host-owned, valid until destroy() */
    uint16_t port;
};

/* Main thread. No I/O: create() runs at start, at check-config and at every
 * reload, so it only reads and validates its keys. */
static int port_check_create(const adf_host_services *services, adf_host *host, void **instance)
{
    int64_t port = 0;
    struct port_check *self;
    int status = services->config_integer(host, "/port", 1, 65535, &port);

    if (status == ADF_ABSENT) {
        services->config_error(host, "/port", "required: the TCP port to connect to (1 to 65535)");
        return ADF_BAD_CONFIG;
    }
    if (status != ADF_OK)
        return ADF_BAD_CONFIG; /* the host has recorded why */

    self = malloc(sizeof *self);
    if (self == NULL)
        return ADF_FAILED;
    self->services = services;
    self->host = host;
    self->port = (uint16_t)port;
    *instance = self;
    return ADF_OK;
}

static void port_check_destroy(void *instance)
{
    free(instance);
}

static double now_seconds(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fills `storage` with address:port; returns its length, 0 when the text is
 * not an address of `family` (the host always passes one). */
static socklen_t peer_address(const char *address, int family, uint16_t port,
                              struct sockaddr_storage *storage)
{
    memset(storage, 0, sizeof *storage);
    if (family == ADF_FAMILY_IPV6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)storage;

        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return inet_pton(AF_INET6, address, &in6->sin6_addr) == 1 ? (socklen_t)sizeof *in6 : 0;
    } else {
        struct sockaddr_in *in4 = (struct sockaddr_in *)storage;

        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return inet_pton(AF_INET, address, &in4->sin_addr) == 1 ? (socklen_t)sizeof *in4 : 0;
    }
}

/* Waits until the connect on `fd` completes or `budget` seconds pass;
 * returns 0 when connected, else an errno value (ETIMEDOUT at the end). */
static int wait_connected(int fd, double budget)
{
    const double end = now_seconds() + budget;

    for (;;) {
        struct pollfd p = {fd, POLLOUT, 0};
        const double left = end - now_seconds();
        int error = 0;
        socklen_t size = sizeof error;
        int ready;

        if (left <= 0)
            return ETIMEDOUT;
        ready = poll(&p, 1, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready < 0)
            return errno;
        if (ready == 0)
            continue; /* the loop's first test ends it */
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &size) != 0)
            return errno;
        return error;
    }
}

/* Runs alone in a child process that the host forks for this call and kills
 * with its process group after `timeout` seconds. */
static int port_check_check(void *instance, const char *address, int family, double timeout)
{
    const struct port_check *self = instance;
    /* Give up before the host's kill, keeping 10% (at most 0.25 s) to report. */
    const double margin = timeout / 10 < 0.25 ? timeout / 10 : 0.25;
    struct sockaddr_storage peer;
    const socklen_t size = peer_address(address, family, self->port, &peer);
    char reason[256];
    int fd, error;

    if (size == 0) {
        self->services->set_error(self->host, "not an address of its family");
        return ADF_FAILED;
    }
    fd = socket(peer.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(reason, sizeof reason, "cannot create a socket: %s", strerror(errno));
        self->services->set_error(self->host, reason);
        return ADF_FAILED;
    }
    error = connect(fd, (const struct sockaddr *)&peer, size) == 0 ? 0 : errno;
    if (error == EINPROGRESS)
        error = wait_connected(fd, timeout - margin);
    close(fd); /* nothing stays open when check() returns */
    if (error == 0)
        return ADF_OK;
    if (error == ETIMEDOUT)
        snprintf(reason, sizeof reason, "port %u: no answer after %.2g s", (unsigned)self->port,
                 timeout - margin);
    else
        snprintf(reason, sizeof reason, "port %u: %s", (unsigned)self->port, strerror(error));
    self->services->set_error(self->host, reason); /* copied by the host */
    return ADF_FAILED;
}

static const adf_check_ops port_check_ops = {
    .struct_size = sizeof(adf_check_ops),
    .check = port_check_check,
};

ADF_PLUGIN_DESCRIPTOR = {
    .struct_size = sizeof(adf_plugin_descriptor),
    .abi_major = ADF_ABI_MAJOR,
    .abi_minor = ADF_ABI_MINOR,
    .kind = ADF_KIND_CHECK,
    .name = "port-check",
    .version = "1.0.0",
    .summary = "Alive when the peer accepts a TCP connection on a port (SDK example in C)",
    .create = port_check_create,
    .destroy = port_check_destroy,
    .ops = &port_check_ops,
};
