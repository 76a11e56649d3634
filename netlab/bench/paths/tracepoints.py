"""Count kernel tracepoints (``net:netif_rx``, NET_RX ``irq:softirq_entry``) in
the engine's processes over its measured window, as ``perf stat -e … -p PID``
does, through perf_event_open(2) so the window is exactly the engine's own.

``Counter.open`` returns a counter, or a reason why the machine has none
(no tracefs and no way to mount one, no permission, an architecture without
the syscall number here). Where no tracefs is mounted, netlab.backend.tracefs
reads the event ids from one mounted in a private mount namespace.
"""

from __future__ import annotations

import ctypes
import fcntl
import os
import platform
import struct

from netlab.backend import tracefs

_SYSCALL = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "ppc64le": 319, "s390x": 331}
PERF_TYPE_TRACEPOINT = 2
PERF_FLAG_FD_CLOEXEC = 8
IOC_ENABLE, IOC_DISABLE, IOC_RESET = 0x2400, 0x2401, 0x2403
IOC_SET_FILTER = 0x40082406  # _IOW('$', 6, char *)
NET_RX_SOFTIRQ = 3  # enum in linux/interrupt.h: HI, TIMER, NET_TX, NET_RX, ...


class _Attr(ctypes.Structure):
    """struct perf_event_attr up to config2 (PERF_ATTR_SIZE_VER1, 72 bytes)."""

    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("config", ctypes.c_uint64),
                ("sample_period", ctypes.c_uint64), ("sample_type", ctypes.c_uint64),
                ("read_format", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("wakeup_events", ctypes.c_uint32), ("bp_type", ctypes.c_uint32),
                ("config1", ctypes.c_uint64), ("config2", ctypes.c_uint64)]


def tracepoint_id(event: str) -> int:
    """The id perf_event_open(2) takes for ``event`` ("group:name"); OSError naming why there is none."""
    found = tracefs.lookup((event,))
    if event not in found.ids:
        raise OSError(found.missing[event])
    return found.ids[event]


class Counter:
    """Disabled counters of one tracepoint in some processes; ``start``/``stop`` bracket a window.

    Counting per process (not per CPU) keeps other work on the machine out: an
    event counts when it fires while one of the processes is on a CPU, in its
    system calls or in a softirq run on its way out of one (where loopback and
    veth deliver packets)."""

    def __init__(self, event: str, fds: list[int]):
        self.event = event
        self.fds = fds

    @classmethod
    def open(cls, event: str, pids: list[int], filter_: str | None = None) -> "Counter | str":
        """A counter of ``event`` (e.g. "net:netif_rx") in ``pids``, or why there is none."""
        nr = _SYSCALL.get(platform.machine())
        if nr is None:
            return f"perf_event_open: no syscall number for {platform.machine()}"
        try:
            config = tracepoint_id(event)
        except OSError as exc:
            return str(exc)
        libc = ctypes.CDLL(None, use_errno=True)
        attr = _Attr(type=PERF_TYPE_TRACEPOINT, size=ctypes.sizeof(_Attr), config=config, flags=1)  # disabled
        counter = cls(event, [])
        for pid in pids:
            fd = libc.syscall(nr, ctypes.byref(attr), pid, -1, -1, PERF_FLAG_FD_CLOEXEC)
            if fd < 0:
                counter.close()
                return f"perf_event_open({event}, pid {pid}): {os.strerror(ctypes.get_errno())}"
            counter.fds.append(fd)
            if filter_:
                try:
                    fcntl.ioctl(fd, IOC_SET_FILTER, filter_.encode() + b"\0")
                except OSError as exc:
                    counter.close()
                    return f"{event} filter {filter_!r}: {exc.strerror}"
        return counter

    def _ioctl(self, request: int) -> None:
        for fd in self.fds:
            fcntl.ioctl(fd, request, 0)

    def start(self) -> None:
        self._ioctl(IOC_RESET)
        self._ioctl(IOC_ENABLE)

    def stop(self) -> int:
        self._ioctl(IOC_DISABLE)
        return sum(struct.unpack("Q", os.read(fd, 8))[0] for fd in self.fds)

    def close(self) -> None:
        for fd in self.fds:
            os.close(fd)
        self.fds = []
