"""The worker processes: each enters its namespace and holds sockets as bare descriptors.

A connection costs a worker four bytes (its descriptor in an ``array('i')``):
no Python object outlives the call that made it. A client worker makes each
connection with three system calls — socket(), bind() to the (source IP,
source port) the plan gives connection *k*, and a blocking connect() — and
no epoll: over veth the whole handshake runs inside connect() (the SYN, the
server's SYN-ACK and the client's ACK are processed in the softirq the
send raises, on this CPU), so a blocking connect() returns established
without sleeping. The kernel searches no free port, since the bench chose
it. Clients ramp a few at a time (``active``: one per CPU) and pause while
more than ``window`` connections wait in the accept queues. Server workers
accept in a non-blocking loop on their listening socket(s). Each worker
reports through a shared array of counters, never through a queue, and dies
with its parent (PR_SET_PDEATHSIG).
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
from collections.abc import Callable
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
CHECK_EVERY = 256  # connections between two looks at the accept queues' fill (shared counters)
# errors after which retrying cannot help: the limit is reported instead
FATAL = {errno.EADDRNOTAVAIL: "local ports", errno.EADDRINUSE: "local ports (source port taken)",
         errno.EMFILE: "file descriptors (RLIMIT_NOFILE)", errno.ENFILE: "open files (fs.file-max)",
         errno.ENOBUFS: "kernel memory", errno.ENOMEM: "kernel memory"}


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
    window: int = 8192                      # client: pause while more than this wait unaccepted (all clients)
    nap: float = 0.0                        # server: sleep after each accept batch (see plan.DEFAULT_NAP)
    backlog: int = 4096
    reuseport: bool = False
    source_ports: str = "bench"             # client: "bench" binds (ip, port) of its choosing; "kernel" (ip, 0)
    port_range: tuple[int, int] = (1024, 65535)
    servers: int = 0                        # client: rows 0..servers-1 of the counters are the server workers
    workers: int = 0                        # client: rows in all


def _enter(job: Job, parent: int, inherited: frozenset[int], control) -> None:
    """Die with the parent, leave Ctrl-C to it, drop the descriptors forked with it, and move
    into the namespace."""
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
    close_inherited(inherited, keep={control.fileno()})
    netns.setns_path(names.netns(job.lab, job.node))


def close_inherited(inherited: frozenset[int], keep: set[int]) -> None:
    """Close the parent's descriptors that fork copied into this worker.

    The parent holds three per worker it started before this one (the command
    pipe, multiprocessing's two sentinel pipes): without this, the 300th worker
    of a `--target max` run starts with ~900 descriptors of its 20,000 taken
    and meets EMFILE before its quota. The worker's own sentinel pipes were
    made after the parent listed ``inherited``, so they stay (join() waits on them)."""
    for fd in inherited - keep - {0, 1, 2}:
        with contextlib.suppress(OSError):  # the listing's own descriptor, gone already
            os.close(fd)


def open_fds() -> frozenset[int]:
    """The descriptors this process has open now."""
    return frozenset(int(fd) for fd in os.listdir("/proc/self/fd"))


def _close_all(fds: array) -> None:
    close = os.close
    for fd in fds:
        close(fd)


def serve(job: Job, control, shared, parent: int, inherited: frozenset[int] = frozenset()) -> None:
    """Server worker: listen, accept until told to close, close everything, exit."""
    _enter(job, parent, inherited, control)
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


def connect(job: Job, control, shared, stop, turn, parent: int, inherited: frozenset[int] = frozenset()) -> None:
    """Client worker: wait for "go" and its turn, ramp to the quota, hold, close on "close", exit on "exit"."""
    _enter(job, parent, inherited, control)
    row = job.index * STRIDE
    shared[row + STATE] = READY
    fds = array("i")
    while True:
        command = control.recv()
        if command == "exit":
            return
        if command == "go":
            held = False
            while not stop[0] and not held:  # only ``active`` clients ramp at once
                held = turn.acquire(timeout=0.1)
            shared[row + STATE] = RAMPING
            try:
                if held:
                    fds = _ramp(job, shared, row, stop)
            finally:
                if held:
                    turn.release()
            shared[row + STATE] = DONE
        elif command == "close":
            _close_all(fds)
            fds = array("i")
            shared[row + COUNT] = 0
            shared[row + STATE] = CLOSED


def addresses(job: Job) -> Callable[[int], tuple[tuple[str, int], tuple[str, int]]]:
    """(source ip:port, server ip:port) of connection number ``k``.

    ``bench``, scheme ips: connection k leaves from port lo + k mod R of IP k div R (R ports in
    the range), so each IP's range is filled in order and no (IP, port) is used twice.
    ``bench``, scheme ports (one client IP, M server ports): port lo + k div M towards server
    port k mod M — a source port serves M connections, one per server port (SO_REUSEADDR).
    ``kernel``: port 0 (IP_BIND_ADDRESS_NO_PORT), the kernel searches a free port at connect()."""
    ips, targets = job.sources, job.targets
    n_ips, n_dst = len(ips), len(targets)
    lo, hi = job.port_range
    size = hi - lo + 1
    if job.source_ports == "kernel":
        return lambda k: ((ips[k % n_ips], 0), targets[(k // n_ips) % n_dst])
    if n_dst > 1:
        return lambda k: ((ips[0], lo + k // n_dst), targets[k % n_dst])
    return lambda k: ((ips[k // size], lo + k % size), targets[0])


def _unaccepted(shared, servers: int, workers: int) -> int:
    """Connections the clients made that no server worker has accepted yet."""
    accepted = sum(shared[i * STRIDE + COUNT] for i in range(servers))
    return sum(shared[i * STRIDE + COUNT] for i in range(servers, workers)) - accepted


def _ramp(job: Job, shared, row: int, stop) -> array:
    """Open ``job.quota`` connections, pausing while the accept queues fill; stop early if told."""
    fds = array("i")
    where = addresses(job)
    kernel = job.source_ports == "kernel"
    reuse = len(job.targets) > 1 and not kernel  # one source port towards several server ports
    new, close, append = _socket.socket, os.close, fds.append
    k, end = job.first, job.first + job.quota
    done = failed = 0
    try:
        while k < end and not stop[0]:
            for k in range(k, min(end, k + CHECK_EVERY)):
                sock = new(socket.AF_INET, socket.SOCK_STREAM)  # EMFILE/ENFILE raise: reported below
                if kernel:
                    sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                elif reuse:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                source, target = where(k)
                sock.bind(source)
                err = sock.connect_ex(target)
                fd = sock.detach()
                if err:
                    close(fd)
                    failed += 1
                    shared[row + ERRNO] = err
                    if err in FATAL:
                        return fds
                    continue
                append(fd)
                done += 1
            k += 1
            shared[row + COUNT] = done
            shared[row + FAILED] = failed
            while _unaccepted(shared, job.servers, job.workers) > job.window and not stop[0]:
                time.sleep(0.001)
    except OSError as exc:
        shared[row + ERRNO] = exc.errno
    finally:
        shared[row + COUNT] = done
        shared[row + FAILED] = failed
    return fds
