/* receive-path's traffic: a burst of UDP datagrams from one pinned CPU, and a
 * receiver that records on which CPU the kernel handled its packets.
 *
 *   udpburst send DST PORT COUNT SIZE CPU SNDBUF
 *       -> {"sent": N, "ns": wall, "cpu_ns": CPU time, "cpu": where it ran}
 *   udpburst recv PORT PEER CPU SECONDS
 *       -> "ready", then {"received": N, "by_cpu": [packets per CPU]}
 *
 * C, because the burst has to outrun the receiving CPU: sendmmsg() hands the kernel
 * 64 datagrams per system call. The sender binds PORT+1 and the receiver connects
 * to it, since the kernel records a socket's sk_incoming_cpu (SO_INCOMING_CPU)
 * only for connected UDP sockets. SNDBUF > 0 raises the send buffer
 * (SO_SNDBUFFORCE): on a veth a datagram stays charged to its sender until the
 * receiving side frees it, so the default buffer would throttle the burst at a
 * few hundred datagrams in flight.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define MAX_CPUS 1024
#define IDLE_NS 300000000LL /* the receiver stops this long after the last packet */

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

static struct sockaddr_in address(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) {
        fprintf(stderr, "not an IPv4 address: %s\n", ip);
        exit(2);
    }
    return a;
}

static int sender(const char *dst, int port, long count, int size, int cpu, int sndbuf)
{
    static char payload[65536];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    struct sockaddr_in me = address("0.0.0.0", port + 1), to = address(dst, port);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    long sent = 0;

    if (size < 1 || size > (int)sizeof payload)
        size = 64;
    pin(cpu);
    if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf))
        die("SO_SNDBUFFORCE");
    if (bind(fd, (struct sockaddr *)&me, sizeof me) || connect(fd, (struct sockaddr *)&to, sizeof to))
        die("bind/connect");
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = payload;
        iov[i].iov_len = size;
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    long long t0 = now_ns(CLOCK_MONOTONIC), c0 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    while (sent < count) {
        int n = sendmmsg(fd, msgs, count - sent < BATCH ? count - sent : BATCH, 0);
        if (n < 0 && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR)
            die("sendmmsg");
        if (n > 0)
            sent += n;
    }
    long long t1 = now_ns(CLOCK_MONOTONIC), c1 = now_ns(CLOCK_PROCESS_CPUTIME_ID);
    printf("{\"sent\": %ld, \"ns\": %lld, \"cpu_ns\": %lld, \"cpu\": %d}\n", sent, t1 - t0, c1 - c0,
           sched_getcpu());
    return 0;
}

static int receiver(int port, const char *peer, int cpu, double seconds)
{
    static char bufs[BATCH][2048];
    static struct mmsghdr msgs[BATCH];
    static struct iovec iov[BATCH];
    static long by_cpu[MAX_CPUS];
    struct sockaddr_in me = address("0.0.0.0", port), from = address(peer, port + 1);
    int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 64 << 20, top = 0;
    long received = 0;
    long long end = now_ns(CLOCK_MONOTONIC) + (long long)(seconds * 1e9), last = 0;

    pin(cpu);
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    if (bind(fd, (struct sockaddr *)&me, sizeof me) || connect(fd, (struct sockaddr *)&from, sizeof from))
        die("bind/connect");
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = sizeof bufs[i];
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        long long t = now_ns(CLOCK_MONOTONIC);
        struct pollfd p = {fd, POLLIN, 0};
        if (t > end || (received && t - last > IDLE_NS))
            break;
        if (poll(&p, 1, 50) <= 0)
            continue;
        int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0)
            continue;
        int where = -1;
        socklen_t len = sizeof where;
        /* the CPU whose softirq queued the latest of these datagrams */
        getsockopt(fd, SOL_SOCKET, SO_INCOMING_CPU, &where, &len);
        if (where >= 0 && where < MAX_CPUS) {
            by_cpu[where] += n;
            top = where + 1 > top ? where + 1 : top;
        }
        received += n;
        last = now_ns(CLOCK_MONOTONIC);
    }
    printf("{\"received\": %ld, \"by_cpu\": [", received);
    for (int i = 0; i < top; i++)
        printf("%s%ld", i ? ", " : "", by_cpu[i]);
    printf("]}\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 8 && !strcmp(argv[1], "send"))
        return sender(argv[2], atoi(argv[3]), atol(argv[4]), atoi(argv[5]), atoi(argv[6]), atoi(argv[7]));
    if (argc == 6 && !strcmp(argv[1], "recv"))
        return receiver(atoi(argv[2]), argv[3], atoi(argv[4]), atof(argv[5]));
    fprintf(stderr, "usage: udpburst send DST PORT COUNT SIZE CPU SNDBUF | recv PORT PEER CPU SECONDS\n");
    return 2;
}
