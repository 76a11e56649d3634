"""What runs inside a node of a lab that is up: commands, Python code, sockets,
and the node's own counters and sysctls.

A ``Node`` goes through its kind: a netns node's commands run in its namespace,
a docker node's with ``docker exec`` (the image's file system). Python code
(``inside``, ``spawn``, ``socket``) always runs in the node's network namespace.
The kernel side of each is in netlab.backend (process, procfs, netns).
"""

from __future__ import annotations

import contextlib
import errno
import socket as sockets
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from netlab import kinds, state
from netlab.backend import netns, process, procfs
from netlab.backend.process import NodeProcess
from netlab.errors import NetlabError


class Node:
    """One node of a lab that is up (nothing is checked until it is used)."""

    def __init__(self, lab: str, name: str, kind: str = "netns") -> None:
        self.lab, self.name, self.kind = lab, name, kind

    def __repr__(self) -> str:
        return f"Node({self.lab!r}, {self.name!r}, kind={self.kind!r})"

    @property
    def ns(self) -> str | None:
        """The node's network namespace (None: the real host's)."""
        return kinds.kind(self.kind).netns(self.lab, self.name)

    def _namespace(self) -> str | None:
        ns = self.ns
        if ns is not None and not netns.exists(ns):
            raise NetlabError(f"node {self.name} of lab {self.lab} has no namespace {ns} (is the lab up?)")
        return ns

    # -- commands ---------------------------------------------------------------
    def popen(self, argv: Sequence[str], **kw: Any) -> subprocess.Popen:
        """Start ``argv`` in the node (``subprocess.Popen`` keywords); the caller ends it."""
        self._namespace()
        ns, full = kinds.kind(self.kind).exec_argv(self.lab, self.name, list(argv))
        return process.popen(ns, full, **kw)

    def run(self, argv: Sequence[str], capture: bool = False, timeout: float | None = None,
            check: bool = False, input: bytes | None = None) -> subprocess.CompletedProcess:
        """Run ``argv`` in the node and wait; stdout and stderr as bytes if ``capture``."""
        self._namespace()
        ns, full = kinds.kind(self.kind).exec_argv(self.lab, self.name, list(argv))
        return process.run(ns, full, capture, timeout, check, input)

    # -- Python code --------------------------------------------------------------
    @contextlib.contextmanager
    def inside(self) -> Iterator[None]:
        """The body runs (this thread only) in the node's network namespace: sockets
        opened there belong to the node."""
        with netns.entered(self._namespace()):
            yield

    def spawn(self, fn: Callable, *args: Any, **kwargs: Any) -> NodeProcess:
        """``fn(*args, **kwargs)`` in a new process inside the node; ``.result(timeout)`` waits for it."""
        return NodeProcess(self._namespace(), fn, *args, **kwargs)

    def call(self, fn: Callable, *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a new process inside the node; its return value."""
        proc = self.spawn(fn, *args, **kwargs)
        try:
            return proc.result(timeout)
        finally:
            proc.stop()

    def socket(self, family: int = sockets.AF_INET, type: int = sockets.SOCK_STREAM) -> sockets.socket:
        """A socket that belongs to the node (usable from any thread)."""
        with self.inside():
            return sockets.socket(family, type)

    def timed_connect(self, addr: tuple[str, int], timeout: float) -> tuple[float, int]:
        """(seconds, errno — 0 if connected) of one blocking TCP connect() from the node; the
        socket is closed afterwards."""
        sock = self.socket()
        sock.settimeout(timeout)
        t0 = time.perf_counter()
        try:
            sock.connect(addr)
            code = 0
        except OSError as exc:
            code = exc.errno or errno.ETIMEDOUT
        took = time.perf_counter() - t0
        sock.close()
        return took, code

    # -- counters and sysctls ---------------------------------------------------------
    def nstat(self) -> dict[str, int]:
        """Every SNMP and netstat counter of the node, as nstat(8) names them."""
        return procfs.nstat(self._namespace())

    def sockstat(self) -> dict[str, dict[str, int]]:
        return procfs.sockstat(self._namespace())

    def netdev(self) -> dict[str, dict[str, int]]:
        """Packets and bytes each interface of the node moved."""
        return procfs.netdev(self._namespace())

    def sysctl(self, key: str) -> str:
        return procfs.sysctl_get(self._namespace(), key)

    def set_sysctl(self, key: str, value: object) -> str:
        """Set a per-namespace (net.*) sysctl in the node, never the real host's; the old value."""
        return procfs.sysctl_set(self._namespace(), key, value)


def of(lab: str, node: str) -> Node:
    """Node ``node`` of lab ``lab``, with the kind its state record gives it."""
    nodes = state.read(lab).extra.get("kinds", {})
    if node not in nodes:
        raise NetlabError(f"lab {lab} has no node {node!r} (nodes: {', '.join(sorted(nodes)) or 'none'})")
    return Node(lab, node, nodes[node])


def run(lab: str, node: str, argv: Sequence[str], **kw: Any) -> subprocess.CompletedProcess:
    """``Node.run`` of node ``node`` of lab ``lab``."""
    return of(lab, node).run(argv, **kw)


def popen(lab: str, node: str, argv: Sequence[str], **kw: Any) -> subprocess.Popen:
    return of(lab, node).popen(argv, **kw)


def inside(lab: str, node: str) -> contextlib.AbstractContextManager[None]:
    return of(lab, node).inside()
