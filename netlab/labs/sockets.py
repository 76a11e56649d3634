"""TCP sockets in a node, the way the labs use them: opened inside the node's
namespace, and connect() timed with its outcome."""

from __future__ import annotations

import errno
import socket
import time

from netlab.backend import netns


def tcp_socket(ns: str) -> socket.socket:
    """A TCP socket that belongs to namespace ``ns`` (usable from any thread)."""
    with netns.entered(ns):
        return socket.socket(socket.AF_INET, socket.SOCK_STREAM)


def timed_connect(ns: str, addr: tuple[str, int], timeout: float) -> tuple[float, int]:
    """(seconds, errno — 0 if connected) of one blocking connect() from namespace ``ns``;
    the socket is closed afterwards."""
    sock = tcp_socket(ns)
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
