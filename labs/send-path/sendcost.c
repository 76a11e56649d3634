/* send-path's traffic: a TCP sender that times its own send() calls, and a sink.
 *
 *   sendcost send DST PORT SIZE COUNT SECONDS CPU NODELAY [GAP_US]
 *       -> {"calls", "bytes", "ns": wall, "cpu_ns": CPU time, "vcsw", "ivcsw"}
 *   sendcost sink PORT CPU
 *       -> "ready"; then reads and discards every connection until killed
 *
 * The sender stops after COUNT calls or SECONDS, whichever comes first, and counts
 * its CPU time (CLOCK_PROCESS_CPUTIME_ID): a send() that sleeps for socket-buffer
 * space costs wall time, not CPU. It then waits for the sink's EOF, so that the
 * whole transfer is over when it exits. GAP_US > 0 sleeps that long between calls,
 * so that nothing is still queued when the next one starts. C, because at 64 bytes a send() takes a few
 * microseconds and a Python loop adds its own cost to each call (the lab measures
 * how much).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(clockid_t clock)
{
    struct timespec t;
    clock_gettime(clock, &t);
    return t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what)
{
    perror(what);
    exit(2);
}

static void pin(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    if (sched_setaffinity(0, sizeof set, &set))
        die("sched_setaffinity");
}

static int sender(const char *dst, int port, long size, long count, double seconds, int cpu, int nodelay,
                  int gap_us)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char *buf = malloc(size > 0 ? size : 1);
    struct rusage r0, r1;
    long calls = 0;
    long long bytes = 0;

    pin(cpu);
    if (!buf || size < 1 || inet_pton(AF_INET, dst, &to.sin_addr) != 1)
        die("arguments");
    memset(buf, 0x5a, size);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay, sizeof nodelay);
    if (connect(fd, (struct sockaddr *)&to, sizeof to))
        die("connect");
    getrusage(RUSAGE_SELF, &r0);
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    long long end = t0 + (long long)(seconds * 1e9);
    while (calls < count) {
        ssize_t n = send(fd, buf, size, 0);
        if (n < 0)
            die("send");
        calls++;
        bytes += n;
        if (gap_us > 0)
            usleep(gap_us);
        if ((calls & 15) == 0 && now_ns(CLOCK_MONOTONIC) > end)
            break;
    }
    long long t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    getrusage(RUSAGE_SELF, &r1);
    /* wait until the sink has read everything, so the lab's counters see the whole transfer */
    shutdown(fd, SHUT_WR);
    while (read(fd, buf, size) > 0)
        ;
    printf("{\"calls\": %ld, \"bytes\": %lld, \"ns\": %lld, \"cpu_ns\": %lld, \"vcsw\": %ld, \"ivcsw\": %ld}\n",
           calls, bytes, t1 - t0, c1 - c0, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw);
    close(fd);
    return 0;
}

static int sink(int port, int cpu)
{
    static char buf[1 << 20];
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

    pin(cpu);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) || listen(fd, 16))
        die("listen");
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        int conn = accept(fd, NULL, NULL);
        if (conn < 0)
            continue;
        while (read(conn, buf, sizeof buf) > 0)
            ;
        close(conn);
    }
}

int main(int argc, char **argv)
{
    if ((argc == 9 || argc == 10) && !strcmp(argv[1], "send"))
        return sender(argv[2], atoi(argv[3]), atol(argv[4]), atol(argv[5]), atof(argv[6]), atoi(argv[7]),
                      atoi(argv[8]), argc == 10 ? atoi(argv[9]) : 0);
    if (argc == 4 && !strcmp(argv[1], "sink"))
        return sink(atoi(argv[2]), atoi(argv[3]));
    fprintf(stderr, "usage: sendcost send DST PORT SIZE COUNT SECONDS CPU NODELAY [GAP_US] | sink PORT CPU\n");
    return 2;
}
