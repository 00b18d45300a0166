/* adf-fork-floor: the physical floor of an isolated TCP check on this
 * machine. A process linked with nothing but libc forks one child per check;
 * the child connects to a loopback listener and _exits; the parent reaps it.
 * No real check can cost less CPU: this is the figure the daemon's CPU per
 * check is set next to.
 *   adf-fork-floor PORT COUNT PARALLEL
 * prints: microseconds of CPU (parent + children) per check. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static double cpu_us(int who) {
    struct rusage usage;
    getrusage(who, &usage);
    const long seconds = usage.ru_utime.tv_sec + usage.ru_stime.tv_sec;
    const long micros = usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
    return (double)seconds * 1e6 + (double)micros;
}

static void check_child(int port) {
    struct sockaddr_in sa = {0};
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int ok = fd >= 0 && connect(fd, (const struct sockaddr *)&sa, sizeof sa) == 0;
    _exit(ok ? 0 : 1);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fputs("usage: adf-fork-floor PORT COUNT PARALLEL\n", stderr);
        return 2;
    }
    const int port = atoi(argv[1]);
    const long count = atol(argv[2]);
    const long parallel = atol(argv[3]) > 0 ? atol(argv[3]) : 1;
    const double before = cpu_us(RUSAGE_SELF) + cpu_us(RUSAGE_CHILDREN);
    long running = 0, failed = 0;
    for (long i = 0; i < count; ++i) {
        for (; running >= parallel; --running) {
            int status = 0;
            wait(&status);
            failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        }
        const pid_t pid = fork();
        if (pid == 0) check_child(port);
        if (pid < 0) return 1;
        ++running;
    }
    for (; running > 0; --running) {
        int status = 0;
        wait(&status);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    const double after = cpu_us(RUSAGE_SELF) + cpu_us(RUSAGE_CHILDREN);
    if (failed) {
        fprintf(stderr, "adf-fork-floor: %ld connects failed\n", failed);
        return 1;
    }
    printf("%.1f\n", (after - before) / (double)count);
    return 0;
}
