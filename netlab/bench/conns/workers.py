"""The worker processes: each enters its namespace and holds sockets as bare descriptors.

A connection costs a worker four bytes (its descriptor in an ``array('i')``):
no Python object outlives the call that made it. Client workers keep a
bounded window of non-blocking connects in flight on one epoll; server
workers accept in a non-blocking loop on their listening socket(s). Each
worker reports through a shared array of counters, never through a queue,
and dies with its parent (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import gc
import os
import resource
import select
import signal
import socket
import time
import _socket
from array import array
from dataclasses import dataclass

from netlab import names
from netlab.backend import netns

IP_BIND_ADDRESS_NO_PORT = 24  # linux/in.h: pick the source port at connect(), sharing it across 4-tuples
PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15

# one row of counters per worker in the shared array
STRIDE = 4
COUNT, FAILED, ERRNO, STATE = range(STRIDE)
STARTING, READY, RAMPING, DONE, CLOSED = range(5)

_NEW = socket.SOCK_STREAM | socket.SOCK_NONBLOCK
_FAILED = select.EPOLLERR | select.EPOLLHUP
# errors after which retrying cannot help: the limit is reported instead
FATAL = {errno.EADDRNOTAVAIL: "local ports", errno.EMFILE: "file descriptors (RLIMIT_NOFILE)",
         errno.ENFILE: "open files (fs.file-max)", errno.ENOBUFS: "kernel memory", errno.ENOMEM: "kernel memory"}


@dataclass(frozen=True)
class Job:
    """What one worker does: its side, namespace, addresses and share of the connections."""

    lab: str
    node: str
    role: str                               # "client" or "server"
    index: int                              # row in the shared counters
    sources: tuple[str, ...] = ()           # client IPs to bind
    targets: tuple[tuple[str, int], ...] = ()  # server ip:port to connect to / listen on
    first: int = 0                          # global number of this worker's first connection
    quota: int = 0
    window: int = 128
    nap: float = 0.0                        # server: sleep after each accept batch (see plan.DEFAULT_NAP)
    backlog: int = 4096
    reuseport: bool = False


def _enter(job: Job, parent: int) -> None:
    """Die with the parent, leave Ctrl-C to it, and move into the namespace."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)
    libc.prctl(PR_SET_NAME, f"nl{job.role[0]}.{job.lab}"[:15].encode())
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C and a closed terminal reach the parent,
    signal.signal(signal.SIGHUP, signal.SIG_IGN)  # which tears down in order
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    gc.disable()  # a collection would touch, and so copy, every page shared with the parent
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    netns.setns_path(names.netns(job.lab, job.node))


def _close_all(fds: array) -> None:
    close = os.close
    for fd in fds:
        close(fd)


def serve(job: Job, control, shared, parent: int) -> None:
    """Server worker: listen, accept until told to close, close everything, exit."""
    _enter(job, parent)
    row = job.index * STRIDE
    listeners = {}
    for ip, port in job.targets:
        lsock = socket.socket(socket.AF_INET, _NEW)
        lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if job.reuseport:
            lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        lsock.bind((ip, port))
        lsock.listen(job.backlog)
        listeners[lsock.fileno()] = lsock
    ep = select.epoll()
    for fd in listeners:
        ep.register(fd, select.EPOLLIN)
    ep.register(control.fileno(), select.EPOLLIN)
    fds = array("i")
    shared[row + STATE] = READY
    while True:
        for fd, _ in ep.poll():
            if fd == control.fileno():
                command = control.recv()
                if command == "exit":
                    return
                if command == "close":
                    for lsock in listeners.values():
                        with contextlib.suppress(OSError):  # unregistered already after EMFILE
                            ep.unregister(lsock.fileno())
                        lsock.close()
                    listeners.clear()
                    _close_all(fds)
                    fds = array("i")
                    shared[row + COUNT] = 0
                    shared[row + STATE] = CLOSED
                continue
            _accept_all(listeners[fd], fds, ep, shared, row)
        if job.nap:
            time.sleep(job.nap)


def _accept_all(lsock: socket.socket, fds: array, ep, shared, row: int) -> None:
    accept, append = lsock._accept, fds.append
    try:
        while True:
            append(accept()[0])
    except BlockingIOError:
        pass
    except OSError as exc:  # EMFILE: stop listening here, the parent reports the limit
        shared[row + ERRNO] = exc.errno
        ep.unregister(lsock.fileno())
    shared[row + COUNT] = len(fds)


def connect(job: Job, control, shared, stop, parent: int) -> None:
    """Client worker: wait for "go", ramp to the quota, hold, close on "close", exit on "exit"."""
    _enter(job, parent)
    row = job.index * STRIDE
    shared[row + STATE] = READY
    fds = array("i")
    while True:
        command = control.recv()
        if command == "exit":
            return
        if command == "go":
            shared[row + STATE] = RAMPING
            fds = _ramp(job, shared, row, stop)
            shared[row + STATE] = DONE
        elif command == "close":
            _close_all(fds)
            fds = array("i")
            shared[row + COUNT] = 0
            shared[row + STATE] = CLOSED


def _ramp(job: Job, shared, row: int, stop) -> array:
    """Open ``job.quota`` connections, at most ``job.window`` connecting at once; stop early if told."""
    ep = select.epoll()
    fds = array("i")
    pending: set[int] = set()  # the window in flight: at most job.window descriptors
    sources = [(ip, 0) for ip in job.sources]
    targets = list(job.targets)
    n_src, n_dst = len(sources), len(targets)
    quota, window, k = job.quota, job.window, job.first
    done = failed = 0
    new, register, unregister, poll = _socket.socket, ep.register, ep.unregister, ep.poll
    append, close, add, discard = fds.append, os.close, pending.add, pending.discard
    try:
        while done < quota and not stop[0]:
            for _ in range(min(window - len(pending), quota - done - len(pending))):
                sock = new(socket.AF_INET, _NEW)  # EMFILE/ENFILE raise: reported below
                sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind(sources[k % n_src])
                err = sock.connect_ex(targets[(k // n_src) % n_dst])
                fd = sock.detach()
                k += 1
                if err != errno.EINPROGRESS and err != 0:
                    close(fd)
                    failed += 1
                    shared[row + ERRNO] = err
                    if err in FATAL:
                        return fds
                    break
                register(fd, select.EPOLLOUT)
                add(fd)
            for fd, events in poll(0.2):
                unregister(fd)
                discard(fd)
                if events & _FAILED:
                    close(fd)
                    failed += 1
                else:
                    append(fd)
                    done += 1
            shared[row + COUNT] = done
            shared[row + FAILED] = failed
    except OSError as exc:
        shared[row + ERRNO] = exc.errno
    finally:
        # connects still in flight when the ramp ends are not connections: close them
        ep.close()
        for fd in pending:
            close(fd)
        shared[row + COUNT] = done
        shared[row + FAILED] = failed
    return fds
