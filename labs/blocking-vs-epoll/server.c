/* The two servers of §3.3 and §3.4, answering the same request/response.
 *
 *   server threads|epoll ADDR PORT SIZE
 *
 * threads: one thread per connection, each blocked in read() (§3.3: the socket's
 *          wait queue holds the thread; every request is a sleep and a wake-up).
 * epoll:   one thread, non-blocking sockets, one epoll_wait() for all (§3.4).
 *
 * Every request is SIZE bytes and gets SIZE bytes back. Prints "ready PORT",
 * then answers each line on stdin with its counters (requests, epoll_wait calls,
 * events they returned, threads); exits on EOF of stdin or when its parent dies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static atomic_ulong requests, waits, events, threads;
static int size;

static void report(void) {
    printf("requests=%lu waits=%lu events=%lu threads=%lu\n", atomic_load(&requests),
           atomic_load(&waits), atomic_load(&events), atomic_load(&threads));
    fflush(stdout);
}

/* One line on stdin: print the counters; EOF: the lab is done. */
static int control(void) {
    char line[64];
    if (!fgets(line, sizeof line, stdin)) return -1;
    report();
    return 0;
}

static int listener(const char *addr, int port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1) die("listener");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 4096) < 0) die("bind/listen");
    socklen_t len = sizeof sa;
    getsockname(fd, (struct sockaddr *)&sa, &len);
    printf("ready %d\n", ntohs(sa.sin_port));
    fflush(stdout);
    return fd;
}

/* threads: each connection's thread blocks in read() until its request is there. */
static void *serve_one(void *arg) {
    int fd = (int)(long)arg, got;
    char buf[MAX_SIZE];
    for (;;) {
        for (got = 0; got < size;) {
            int n = read(fd, buf + got, size - got);
            if (n <= 0) goto done;
            got += n;
        }
        if (write(fd, buf, size) != size) break;
        atomic_fetch_add(&requests, 1);
    }
done:
    close(fd);
    atomic_fetch_sub(&threads, 1);
    return NULL;
}

static void *accept_loop(void *arg) {
    int lfd = (int)(long)arg, one = 1;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    for (;;) {
        int fd = accept(lfd, NULL, NULL);
        if (fd < 0) { if (errno == EINTR || errno == ECONNABORTED) continue; die("accept"); }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t t;
        atomic_fetch_add(&threads, 1);
        if (pthread_create(&t, &attr, serve_one, (void *)(long)fd) != 0) die("pthread_create");
    }
    return NULL;
}

static void run_threads(int lfd) {
    pthread_t t;
    atomic_store(&threads, 1);  /* the acceptor; the main thread waits on stdin */
    if (pthread_create(&t, NULL, accept_loop, (void *)(long)lfd) != 0) die("pthread_create");
    while (control() == 0) {}
    exit(0);
}

/* epoll: one loop; a request is read when epoll_wait says its socket is readable.
 * have[fd] counts the bytes of a request that came in parts. */
static void on_readable(int fd, char *buf, int *have) {
    int n = read(fd, buf, size - have[fd]);
    if (n < 0 && errno == EAGAIN) return;
    if (n <= 0) {
        have[fd] = 0;
        close(fd);  /* closing removes it from the epoll set */
        return;
    }
    if ((have[fd] += n) < size) return;
    have[fd] = 0;
    if (write(fd, buf, size) == size) atomic_fetch_add(&requests, 1);
}

static void run_epoll(int lfd) {
    int ep = epoll_create1(0), one = 1;
    static struct epoll_event ev[MAX_EVENTS];
    static char buf[MAX_SIZE];
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    int *have = calloc(r.rlim_cur, sizeof *have);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = lfd};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e) < 0) die("epoll");
    e.data.fd = 0;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e) < 0) die("epoll stdin");
    atomic_store(&threads, 1);
    for (;;) {
        int n = epoll_wait(ep, ev, MAX_EVENTS, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        atomic_fetch_add(&waits, 1);
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == 0) {
                if (control() < 0) exit(0);
            } else if (fd == lfd) {
                int c = accept4(lfd, NULL, NULL, SOCK_NONBLOCK);
                if (c < 0) continue;
                if ((rlim_t)c >= r.rlim_cur) { close(c); continue; }
                setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                struct epoll_event ce = {.events = EPOLLIN, .data.fd = c};
                epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
            } else {
                atomic_fetch_add(&events, 1);
                on_readable(fd, buf, have);
            }
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s threads|epoll ADDR PORT SIZE\n", argv[0]);
        return 2;
    }
    bound_to_parent();
    size = atoi(argv[4]);
    if (size < 1 || size > MAX_SIZE) { fprintf(stderr, "SIZE must be 1..%d\n", MAX_SIZE); return 2; }
    setvbuf(stdin, NULL, _IONBF, 0);  /* epoll sees stdin's bytes, not stdio's buffer */
    int lfd = listener(argv[2], atoi(argv[3]));
    if (strcmp(argv[1], "threads") == 0) run_threads(lfd);
    else if (strcmp(argv[1], "epoll") == 0) run_epoll(lfd);
    else { fprintf(stderr, "mode must be threads or epoll\n"); return 2; }
    return 0;
}
