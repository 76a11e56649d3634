/* bench paths' spin loop in C: rr transactions on a connected TCP socket, both ends
 * busy-waiting on non-blocking receives. Loaded by the built-in engine (ctypes) for
 * --wait spin, where Python's own ~1 µs per turn of the loop (a failed recv raises
 * BlockingIOError) would sit on every round trip and hide a hop's cost; the window,
 * counters and latency statistics stay in Python.
 *
 *   long netlab_rr_client(fd, msg, buf, size, lat, max, deadline_ns)
 *       transactions until CLOCK_MONOTONIC passes deadline_ns or max are done; each
 *       one's ns in lat[i] (lat may be NULL); -1 with errno on a socket error or EOF
 *   long netlab_rr_server(fd, buf, size)
 *       echoes size-byte requests until the client closes; their count, or -1
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

static int64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t); /* Python's perf_counter_ns reads the same clock */
    return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* 1: size bytes read; 0: the peer closed before any; -1: error (or closed mid-message) */
static int recv_full(int fd, char *buf, size_t size)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = recv(fd, buf + got, size - got, MSG_DONTWAIT);
        if (n > 0) {
            got += (size_t)n;
        } else if (n == 0) {
            if (got)
                errno = EPIPE;
            return got ? -1 : 0;
        } else if (errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }
    return 1;
}

static int send_full(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (w < 0 && errno != EAGAIN && errno != EINTR) {
            return -1;
        }
    }
    return 0;
}

long netlab_rr_client(int fd, const char *msg, char *buf, size_t size, int64_t *lat, long max, int64_t deadline)
{
    long i = 0;
    int64_t t0 = now_ns();
    while (i < max) {
        if (send_full(fd, msg, size))
            return -1;
        int r = recv_full(fd, buf, size);
        if (r <= 0) {
            if (r == 0)
                errno = EPIPE;
            return -1;
        }
        int64_t t1 = now_ns();
        if (lat)
            lat[i] = t1 - t0;
        i++;
        if (t1 >= deadline)
            break;
        t0 = t1;
    }
    return i;
}

long netlab_rr_server(int fd, char *buf, size_t size)
{
    long count = 0;
    for (;;) {
        int r = recv_full(fd, buf, size);
        if (r == 0)
            return count;
        if (r < 0 || send_full(fd, buf, size))
            return -1;
        count++;
    }
}
