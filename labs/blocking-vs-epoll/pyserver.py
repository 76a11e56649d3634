"""The epoll server of server.c, in Python (§1.1.4: the same I/O model in another
language). The same protocol: ``pyserver.py ADDR PORT SIZE`` prints "ready PORT",
answers each stdin line with its counters, exits on EOF of stdin or when the lab dies.

It calls select.epoll directly (no selectors, no asyncio): Python's own cost at its
smallest, so what is left above the C loop is the interpreter's.
"""

from __future__ import annotations

import ctypes
import os
import resource
import select
import signal
import socket
import sys

PR_SET_PDEATHSIG = 1


def bound_to_parent() -> None:
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        sys.exit(1)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(addr: str, port: int, size: int) -> None:
    bound_to_parent()
    lst = socket.create_server((addr, port), backlog=4096)
    lst.setblocking(False)
    print(f"ready {lst.getsockname()[1]}", flush=True)
    ep = select.epoll()
    ep.register(lst.fileno(), select.EPOLLIN)
    ep.register(0, select.EPOLLIN)
    conns: dict[int, socket.socket] = {}
    requests = waits = events = 0
    lfd = lst.fileno()
    while True:
        ready = ep.poll(-1, 4096)
        waits += 1
        for fd, _ in ready:
            if fd == 0:
                if not os.read(0, 64):
                    return
                print(f"requests={requests} waits={waits} events={events} threads=1", flush=True)
            elif fd == lfd:
                try:
                    c, _ = lst.accept()
                except BlockingIOError:
                    continue
                c.setblocking(False)
                c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conns[c.fileno()] = c
                ep.register(c.fileno(), select.EPOLLIN)
            else:
                events += 1
                sock = conns[fd]
                try:
                    data = sock.recv(size)
                except BlockingIOError:
                    continue
                if not data:
                    ep.unregister(fd)
                    conns.pop(fd).close()
                    continue
                sock.send(data)  # echoed as it comes: the client counts whole responses
                requests += 1


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]))
