/* N processes waiting for connections on one port, four ways (§3.4, §6.2):
 *
 *   herd accept|epoll|epoll-exclusive|reuseport N ADDR PORT
 *
 * accept:          one listener, every process blocked in accept() on it
 * epoll:           one listener, every process in epoll_wait() on its own epoll
 *                  instance holding the listener (level-triggered)
 * epoll-exclusive: the same with EPOLLEXCLUSIVE (Linux 4.5)
 * reuseport:       every process with its own SO_REUSEPORT listener on the port
 *                  (Linux 3.9), blocked in accept() on it
 *
 * Every return from accept() or epoll_wait() is counted as a wake-up seen by the
 * process, every accept() that found nothing (EAGAIN) as an empty one. Prints
 * "ready PID..." with the children's pids, then answers each line on stdin with
 * the totals and each child's accepts; on EOF of stdin (or when its parent dies) it ends its children.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_PROCS 256

struct counts { atomic_ulong wakes, accepts, empty; };

static struct counts *shared;  /* one per child, in memory the children share */

static void die(const char *what) { perror(what); exit(1); }

static int listener(const char *addr, int port, int reuseport, int nonblock) {
    int fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) die("listener");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) die("SO_REUSEPORT");
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 1024) < 0) die("bind/listen");
    return fd;
}

static void took(struct counts *c, int fd) {
    atomic_fetch_add(&c->wakes, 1);
    if (fd >= 0) {
        atomic_fetch_add(&c->accepts, 1);
        close(fd);
    } else if (errno == EAGAIN) {
        atomic_fetch_add(&c->empty, 1);
    }
}

static void blocked_accept(int lfd, struct counts *c) {
    for (;;) took(c, accept(lfd, NULL, NULL));
}

static void in_epoll(int lfd, struct counts *c, unsigned flags) {
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN | flags, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) < 0) die("epoll");
    for (;;) {
        if (epoll_wait(ep, &e, 1, -1) < 0) {
            if (errno == EINTR) continue;
            die("epoll_wait");
        }
        took(c, accept(lfd, NULL, NULL));  /* the listener is non-blocking */
    }
}

static void child(const char *mode, int lfd, const char *addr, int port, struct counts *c) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl");
    if (strcmp(mode, "accept") == 0) blocked_accept(lfd, c);
    else if (strcmp(mode, "epoll") == 0) in_epoll(lfd, c, 0);
    else if (strcmp(mode, "epoll-exclusive") == 0) in_epoll(lfd, c, EPOLLEXCLUSIVE);
    else blocked_accept(listener(addr, port, 1, 0), c);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s accept|epoll|epoll-exclusive|reuseport N ADDR PORT\n", argv[0]);
        return 2;
    }
    const char *mode = argv[1], *addr = argv[3];
    int n = atoi(argv[2]), port = atoi(argv[4]);
    int known = !strcmp(mode, "accept") || !strcmp(mode, "epoll") || !strcmp(mode, "epoll-exclusive")
                || !strcmp(mode, "reuseport");
    if (!known || n < 1 || n > MAX_PROCS || port < 1) { fprintf(stderr, "bad arguments\n"); return 2; }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl");
    if (getppid() == 1) return 1;
    shared = mmap(NULL, n * sizeof *shared, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED) die("mmap");
    int reuse = !strcmp(mode, "reuseport"), epoll = !strncmp(mode, "epoll", 5);
    int lfd = reuse ? -1 : listener(addr, port, 0, epoll);
    pid_t pids[MAX_PROCS];
    for (int i = 0; i < n; i++) {
        if ((pids[i] = fork()) < 0) die("fork");
        if (pids[i] == 0) { child(mode, lfd, addr, port, &shared[i]); _exit(1); }
    }
    printf("ready");
    for (int i = 0; i < n; i++) printf(" %d", pids[i]);
    printf("\n");
    fflush(stdout);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        unsigned long w = 0, a = 0, e = 0;
        for (int i = 0; i < n; i++) {
            w += atomic_load(&shared[i].wakes);
            a += atomic_load(&shared[i].accepts);
            e += atomic_load(&shared[i].empty);
        }
        printf("wakes=%lu accepts=%lu empty=%lu", w, a, e);
        for (int i = 0; i < n; i++) printf(" accepts_%d=%lu", i, atomic_load(&shared[i].accepts));
        printf("\n");
        fflush(stdout);
    }
    for (int i = 0; i < n; i++) kill(pids[i], SIGKILL);
    while (wait(NULL) > 0) {}
    return 0;
}
