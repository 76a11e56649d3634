/* The load for both servers: CONNS connections, each with one request in
 * flight at all times (a closed loop: the next request leaves when the answer
 * to the last one is in). One thread and one epoll loop, so the client's own
 * cost stays small and the same whichever server it talks to.
 *
 *   client ADDR PORT CONNS SIZE
 *
 * Prints "connected CONNS" once every connection is up, then answers each
 * line on stdin with "responses=N"; exits on EOF of stdin or when its parent dies.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

static int connect_one(struct sockaddr_in *sa) {
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    if (fd < 0) die("socket");
    if (connect(fd, (struct sockaddr *)sa, sizeof *sa) < 0) die("connect");
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: %s ADDR PORT CONNS SIZE\n", argv[0]);
        return 2;
    }
    bound_to_parent();
    int conns = atoi(argv[3]), size = atoi(argv[4]);
    if (conns < 1 || size < 1 || size > MAX_SIZE) { fprintf(stderr, "bad CONNS or SIZE\n"); return 2; }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    if (inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) die("address");
    static char buf[MAX_SIZE];
    static struct epoll_event ev[MAX_EVENTS];
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN, .data.fd = 0};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e) < 0) die("epoll");
    int *fds = calloc(conns, sizeof *fds);
    struct rlimit r;
    getrlimit(RLIMIT_NOFILE, &r);
    int *have = calloc(r.rlim_cur, sizeof *have);  /* bytes of a response that came in parts */
    for (int i = 0; i < conns; i++) {
        fds[i] = connect_one(&sa);
        e.data.fd = fds[i];
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e) < 0) die("epoll_ctl");
    }
    printf("connected %d\n", conns);
    fflush(stdout);
    memset(buf, 'q', size);
    for (int i = 0; i < conns; i++)
        if (write(fds[i], buf, size) != size) die("first request");
    unsigned long responses = 0;
    for (;;) {
        int n = epoll_wait(ep, ev, MAX_EVENTS, -1);
        if (n < 0) { if (errno == EINTR) continue; die("epoll_wait"); }
        for (int i = 0; i < n; i++) {
            int fd = ev[i].data.fd;
            if (fd == 0) {
                char line[64];
                if (read(0, line, sizeof line) <= 0) return 0;
                printf("responses=%lu\n", responses);
                fflush(stdout);
                continue;
            }
            int got = read(fd, buf, size - have[fd]);
            if (got < 0 && errno == EAGAIN) continue;
            if (got <= 0) { fprintf(stderr, "server closed a connection\n"); return 1; }
            if ((have[fd] += got) < size) continue;
            have[fd] = 0;
            responses++;
            if (write(fd, buf, size) != size) die("request");
        }
    }
}
