/* Request/response round trips on one TCP connection, timed in C so that the
 * interpreter's microseconds do not hide the kernel's (§9.2 busy polling).
 *
 *   rr server ADDR PORT SIZE BUSY_US        answers SIZE bytes with SIZE bytes
 *                                           (PORT 0: the kernel picks; "ready PORT")
 *   rr client ADDR PORT SIZE COUNT BUSY_US  prints the round trips' figures
 *
 * BUSY_US > 0 sets SO_BUSY_POLL: a read that finds the socket empty polls the
 * device's NAPI context for that long before it sleeps. The client prints
 * "median_ns=.. p90_ns=.. p99_ns=.. napi_id=.. waits=.. cpu_ns=..": napi_id is the
 * NAPI context the socket's packets came from (SO_INCOMING_NAPI_ID; 0: none, and
 * busy polling has nothing to poll), waits the client's voluntary context switches.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif
#define MAX_SIZE 65536

static void die(const char *what) { perror(what); exit(1); }

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void tune(int fd, int busy_us) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (busy_us > 0 && setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &busy_us, sizeof busy_us) < 0) die("SO_BUSY_POLL");
}

static int whole(int fd, char *buf, int size, int writing) {
    for (int done = 0; done < size;) {
        int n = writing ? write(fd, buf + done, size - done) : read(fd, buf + done, size - done);
        if (n <= 0) return -1;
        done += n;
    }
    return 0;
}

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static void serve(struct sockaddr_in *sa, int size, int busy_us) {
    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)sa, sizeof *sa) < 0 || listen(lfd, 8) < 0) die("bind/listen");
    socklen_t len = sizeof *sa;
    getsockname(lfd, (struct sockaddr *)sa, &len);
    printf("ready %d\n", ntohs(sa->sin_port));
    fflush(stdout);
    int fd = accept(lfd, NULL, NULL);
    if (fd < 0) die("accept");
    tune(fd, busy_us);
    static char buf[MAX_SIZE];
    while (whole(fd, buf, size, 0) == 0 && whole(fd, buf, size, 1) == 0) {}
}

static void client(struct sockaddr_in *sa, int size, int count, int busy_us) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)sa, sizeof *sa) < 0) die("connect");
    tune(fd, busy_us);
    static char buf[MAX_SIZE];
    long long *took = calloc(count, sizeof *took);
    for (int i = 0; i < count / 10 + 1; i++)  /* warm up */
        if (whole(fd, buf, size, 1) || whole(fd, buf, size, 0)) die("warm-up");
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    long long c0 = now_ns();
    struct timespec cpu0, cpu1;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
    for (int i = 0; i < count; i++) {
        long long t0 = now_ns();
        if (whole(fd, buf, size, 1) || whole(fd, buf, size, 0)) die("round trip");
        took[i] = now_ns() - t0;
    }
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
    long long wall = now_ns() - c0;
    getrusage(RUSAGE_SELF, &r1);
    int napi = 0;
    socklen_t len = sizeof napi;
    getsockopt(fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &napi, &len);
    qsort(took, count, sizeof *took, cmp);
    printf("median_ns=%lld p90_ns=%lld p99_ns=%lld napi_id=%d waits=%ld cpu_ns=%lld wall_ns=%lld\n",
           took[count / 2], took[count * 9 / 10], took[count * 99 / 100], napi, r1.ru_nvcsw - r0.ru_nvcsw,
           (cpu1.tv_sec - cpu0.tv_sec) * 1000000000LL + cpu1.tv_nsec - cpu0.tv_nsec, wall);
}

int main(int argc, char **argv) {
    int is_server = argc == 6 && strcmp(argv[1], "server") == 0;
    int is_client = argc == 7 && strcmp(argv[1], "client") == 0;
    if (!is_server && !is_client) {
        fprintf(stderr, "usage: %s server ADDR PORT SIZE BUSY_US | client ADDR PORT SIZE COUNT BUSY_US\n", argv[0]);
        return 2;
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl");
    if (getppid() == 1) return 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[3]))};
    if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) die("address");
    int size = atoi(argv[4]);
    if (size < 1 || size > MAX_SIZE) { fprintf(stderr, "SIZE must be 1..%d\n", MAX_SIZE); return 2; }
    if (is_server) serve(&sa, size, atoi(argv[5]));
    else {
        int count = atoi(argv[5]);
        if (count < 10) { fprintf(stderr, "COUNT must be at least 10\n"); return 2; }
        client(&sa, size, count, atoi(argv[6]));
    }
    return 0;
}
