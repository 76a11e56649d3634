/* What server.c and client.c share: dying loudly, dying with the lab, and room
 * for as many sockets as the hard open-file limit allows. */
#ifndef BLOCKING_VS_EPOLL_COMMON_H
#define BLOCKING_VS_EPOLL_COMMON_H

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_SIZE 65536
#define MAX_EVENTS 4096

static void die(const char *what) { perror(what); exit(1); }

/* The kernel kills the helper when its parent (the lab) dies, even by SIGKILL. */
static void bound_to_parent(void) {
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("prctl");
    if (getppid() == 1) exit(1);  /* the parent died before prctl() */
    struct rlimit r;
    if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
        r.rlim_cur = r.rlim_max;
        setrlimit(RLIMIT_NOFILE, &r);
    }
}

#endif
