"""The spin loop of rr in C (spin.c), for the built-in engine's --wait spin.

Spinning in Python costs about a microsecond a turn (each empty non-blocking recv
raises BlockingIOError), and that turn sits in every round trip at both ends: on a
quiet VM the built-in engine's round trip came out ~1 µs longer than sockperf's
(0.84–0.91 × its rate), enough to blur a hop that costs one. The loop is in C; the
window, counters and statistics around it stay in Python. Built with the system
compiler like the labs' helpers (cached), loaded with ctypes (stdlib).
"""

from __future__ import annotations

import array
import ctypes
import os
import socket
from pathlib import Path

SOURCE = Path(__file__).with_name("spin.c")
NO_LIMIT = 1 << 62


def build() -> str:
    """The shared library's path (compiled once per source); NetlabError without a compiler."""
    from netlab import cbuild  # not at import: the engine processes load only what they use
    return str(cbuild.build(SOURCE, shared=True))


class Loop:
    """rr over one connected socket, both ends spinning in C."""

    def __init__(self, library: str, size: int):
        lib = ctypes.CDLL(library, use_errno=True)
        self._client, self._server = lib.netlab_rr_client, lib.netlab_rr_server
        self._client.restype = self._server.restype = ctypes.c_long
        self._client.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.c_size_t,
                                 ctypes.c_void_p, ctypes.c_long, ctypes.c_int64)
        self._server.argtypes = (ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t)
        self.size, self._buf = size, ctypes.create_string_buffer(size)

    def _checked(self, n: int) -> int:
        if n < 0:
            err = ctypes.get_errno()
            raise OSError(err, os.strerror(err))
        return n

    def client(self, sock: socket.socket, msg: bytes, deadline: int, lat: array.array | None = None,
               start: int = 0) -> int:
        """Transactions until ``deadline`` (perf_counter_ns) or ``lat`` is full from ``start``;
        each one's ns in ``lat``; returns how many were done."""
        where, room = (None, NO_LIMIT) if lat is None else (lat.buffer_info()[0] + start * lat.itemsize,
                                                            len(lat) - start)
        return self._checked(self._client(sock.fileno(), msg, self._buf, self.size, where, room, deadline))

    def server(self, conn: socket.socket) -> int:
        """Echo requests until the client closes; how many."""
        return self._checked(self._server(conn.fileno(), self._buf, self.size))
