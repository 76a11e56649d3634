/* zero-copy's server and client: one file served over TCP five ways.
 *
 *   serve serve METHOD FD PORT CPU CHUNK
 *       -> "ready"; serves file descriptor FD to the first client, then
 *          {"method", "bytes", "ns", "cpu_ns", "syscalls", "vcsw", "ivcsw",
 *           "zc_sends", "zc_completed", "zc_copied", "zc_notifications"}
 *   serve fetch DST PORT CPU
 *       -> reads until EOF: {"bytes", "ns", "cpu_ns"}
 *
 * METHOD is read_write (read() into a buffer, write() it), mmap_write (write()
 * from the file's mapping), sendfile, splice (file -> pipe -> socket) or
 * msg_zerocopy (send(MSG_ZEROCOPY) from the mapping; the kernel pins the pages
 * and reports on the socket's error queue when it is done with them, with
 * SO_EE_CODE_ZEROCOPY_COPIED when it had to copy after all). The server counts
 * its own system calls. C, so that each method's cost is the kernel's and not a
 * language runtime's.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif

struct zc {
    long sends, completed, copied, notifications;
};

static long syscalls;

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

static void write_all(int sock, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(sock, p, n);
        syscalls++;
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            die("write");
        p += w;
        n -= w;
    }
}

/* Read the zerocopy completions waiting on the error queue; with ``wait``, first
 * sleep until one arrives. Each notification covers the sends ee_info..ee_data. */
static void reap(int sock, int wait, struct zc *zc)
{
    char control[256];
    for (;;) {
        struct msghdr msg = {.msg_control = control, .msg_controllen = sizeof control};
        if (wait) {
            struct pollfd p = {sock, 0, 0}; /* POLLERR is always reported */
            poll(&p, 1, 1000);
            syscalls++;
            wait = 0;
        }
        syscalls++;
        if (recvmsg(sock, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
            if (errno == EAGAIN)
                return;
            die("recvmsg MSG_ERRQUEUE");
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
            struct sock_extended_err *err = (struct sock_extended_err *)CMSG_DATA(c);
            if (err->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
                continue;
            long n = (long)err->ee_data - (long)err->ee_info + 1;
            zc->completed += n;
            zc->notifications++;
            if (err->ee_code & SO_EE_CODE_ZEROCOPY_COPIED)
                zc->copied += n;
        }
    }
}

static size_t by_read_write(int sock, int fd, size_t chunk)
{
    char *buf = malloc(chunk);
    size_t done = 0;
    if (!buf || lseek(fd, 0, SEEK_SET)) /* the descriptor is shared by every run */
        die("read_write");
    for (;;) {
        ssize_t n = read(fd, buf, chunk);
        syscalls++;
        if (n < 0)
            die("read");
        if (n == 0)
            return done;
        write_all(sock, buf, n);
        done += n;
    }
}

static size_t by_sendfile(int sock, int fd, size_t size)
{
    off_t off = 0;
    while ((size_t)off < size) {
        ssize_t n = sendfile(sock, fd, &off, size - off);
        syscalls++;
        if (n <= 0)
            die("sendfile");
    }
    return off;
}

static size_t by_splice(int sock, int fd, size_t size, size_t chunk)
{
    int pipefd[2];
    loff_t off = 0;
    if (pipe(pipefd))
        die("pipe");
    fcntl(pipefd[1], F_SETPIPE_SZ, (int)chunk);
    while ((size_t)off < size) {
        ssize_t n = splice(fd, &off, pipefd[1], NULL, chunk, SPLICE_F_MOVE | SPLICE_F_MORE);
        syscalls++;
        if (n <= 0)
            die("splice from the file");
        while (n > 0) {
            ssize_t m = splice(pipefd[0], NULL, sock, NULL, n, SPLICE_F_MOVE | SPLICE_F_MORE);
            syscalls++;
            if (m <= 0)
                die("splice to the socket");
            n -= m;
        }
    }
    return off;
}

static size_t by_mapping(int sock, const char *map, size_t size, size_t chunk, struct zc *zc)
{
    size_t off = 0;
    int one = 1;
    if (zc && setsockopt(sock, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof one))
        die("SO_ZEROCOPY");
    while (off < size) {
        size_t n = size - off < chunk ? size - off : chunk;
        if (!zc) {
            write_all(sock, map + off, n);
            off += n;
            continue;
        }
        ssize_t w = send(sock, map + off, n, MSG_ZEROCOPY);
        syscalls++;
        if (w < 0 && errno == ENOBUFS) { /* too many completions outstanding */
            reap(sock, 1, zc);
            continue;
        }
        if (w < 0)
            die("send MSG_ZEROCOPY");
        off += w;
        zc->sends++;
        reap(sock, 0, zc);
    }
    while (zc && zc->completed < zc->sends)
        reap(sock, 1, zc);
    return off;
}

static int accept_one(int port)
{
    struct sockaddr_in me = {.sin_family = AF_INET, .sin_port = htons(port)};
    int listener = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(listener, (struct sockaddr *)&me, sizeof me) || listen(listener, 4))
        die("listen");
    printf("ready\n");
    fflush(stdout);
    int sock = accept(listener, NULL, NULL);
    if (sock < 0)
        die("accept");
    close(listener);
    return sock;
}

static int serve(const char *method, int fd, int port, int cpu, size_t chunk)
{
    struct stat st;
    struct zc zc = {0};
    struct rusage r0, r1;
    size_t sent = 0;
    char one;

    pin(cpu);
    if (fstat(fd, &st))
        die("fstat");
    char *map = mmap(NULL, st.st_size, PROT_READ, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (map == MAP_FAILED)
        die("mmap");
    int sock = accept_one(port);
    getrusage(RUSAGE_SELF, &r0);
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    if (!strcmp(method, "read_write"))
        sent = by_read_write(sock, fd, chunk);
    else if (!strcmp(method, "sendfile"))
        sent = by_sendfile(sock, fd, st.st_size);
    else if (!strcmp(method, "splice"))
        sent = by_splice(sock, fd, st.st_size, chunk);
    else if (!strcmp(method, "mmap_write"))
        sent = by_mapping(sock, map, st.st_size, chunk, NULL);
    else if (!strcmp(method, "msg_zerocopy"))
        sent = by_mapping(sock, map, st.st_size, chunk, &zc);
    else {
        fprintf(stderr, "unknown method %s\n", method);
        return 2;
    }
    shutdown(sock, SHUT_WR); /* the client's EOF; its close says it has read everything */
    while (read(sock, &one, 1) > 0)
        ;
    long long t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    getrusage(RUSAGE_SELF, &r1);
    printf("{\"method\": \"%s\", \"bytes\": %zu, \"ns\": %lld, \"cpu_ns\": %lld, \"syscalls\": %ld, "
           "\"vcsw\": %ld, \"ivcsw\": %ld, \"zc_sends\": %ld, \"zc_completed\": %ld, \"zc_copied\": %ld, "
           "\"zc_notifications\": %ld}\n",
           method, sent, t1 - t0, c1 - c0, syscalls, r1.ru_nvcsw - r0.ru_nvcsw, r1.ru_nivcsw - r0.ru_nivcsw,
           zc.sends, zc.completed, zc.copied, zc.notifications);
    return 0;
}

static int fetch(const char *dst, int port, int cpu)
{
    static char buf[1 << 20];
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(port)};
    long long got = 0;
    int sock = -1;
    ssize_t n;

    pin(cpu);
    if (inet_pton(AF_INET, dst, &to.sin_addr) != 1)
        die("address");
    for (int tries = 0;; tries++) { /* the server may still be starting */
        sock = socket(AF_INET, SOCK_STREAM, 0);
        if (!connect(sock, (struct sockaddr *)&to, sizeof to))
            break;
        close(sock);
        if (tries > 500)
            die("connect");
        usleep(10000);
    }
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while ((n = read(sock, buf, sizeof buf)) > 0)
        got += n;
    if (n < 0)
        die("read");
    printf("{\"bytes\": %lld, \"ns\": %lld, \"cpu_ns\": %lld}\n", got, now_ns(CLOCK_MONOTONIC) - t0,
           now_ns(CLOCK_PROCESS_CPUTIME_ID) - c0);
    close(sock);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 7 && !strcmp(argv[1], "serve"))
        return serve(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), atol(argv[6]));
    if (argc == 5 && !strcmp(argv[1], "fetch"))
        return fetch(argv[2], atoi(argv[3]), atoi(argv[4]));
    fprintf(stderr, "usage: serve serve METHOD FD PORT CPU CHUNK | fetch DST PORT CPU\n");
    return 2;
}
