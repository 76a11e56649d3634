"""Count a kernel tracepoint (``net:netif_rx``) on every CPU over a window, the
way ``perf stat -a -e net:netif_rx`` does, through perf_event_open(2) so the
window is exactly the engine's measured one.

``Counter.open`` returns a counter, or a reason why the machine has none
(no tracefs, no permission, an architecture without the syscall number here).
"""

from __future__ import annotations

import ctypes
import os
import platform
import struct

TRACEFS = ("/sys/kernel/tracing/events", "/sys/kernel/debug/tracing/events")
_SYSCALL = {"x86_64": 298, "aarch64": 241, "riscv64": 241, "ppc64le": 319, "s390x": 331}
PERF_TYPE_TRACEPOINT = 2
PERF_FLAG_FD_CLOEXEC = 8
IOC_ENABLE, IOC_DISABLE, IOC_RESET = 0x2400, 0x2401, 0x2403


class _Attr(ctypes.Structure):
    """struct perf_event_attr up to config2 (PERF_ATTR_SIZE_VER1, 72 bytes)."""

    _fields_ = [("type", ctypes.c_uint32), ("size", ctypes.c_uint32), ("config", ctypes.c_uint64),
                ("sample_period", ctypes.c_uint64), ("sample_type", ctypes.c_uint64),
                ("read_format", ctypes.c_uint64), ("flags", ctypes.c_uint64),
                ("wakeup_events", ctypes.c_uint32), ("bp_type", ctypes.c_uint32),
                ("config1", ctypes.c_uint64), ("config2", ctypes.c_uint64)]


def tracepoint_id(event: str) -> int:
    group, _, name = event.partition(":")
    for base in TRACEFS:
        try:
            with open(f"{base}/{group}/{name}/id") as fh:
                return int(fh.read())
        except OSError:
            continue
    raise OSError(f"no tracefs entry for {event} (is tracefs mounted at /sys/kernel/tracing?)")


class Counter:
    """One disabled per-CPU counter of a tracepoint; ``start``/``stop`` bracket a window."""

    def __init__(self, event: str, fds: list[int]):
        self.event = event
        self.fds = fds

    @classmethod
    def open(cls, event: str = "net:netif_rx") -> "Counter | str":
        nr = _SYSCALL.get(platform.machine())
        if nr is None:
            return f"perf_event_open: no syscall number for {platform.machine()}"
        try:
            config = tracepoint_id(event)
        except OSError as exc:
            return str(exc)
        libc = ctypes.CDLL(None, use_errno=True)
        attr = _Attr(type=PERF_TYPE_TRACEPOINT, size=ctypes.sizeof(_Attr), config=config, flags=1)  # disabled
        fds = []
        for cpu in range(os.cpu_count() or 1):
            fd = libc.syscall(nr, ctypes.byref(attr), -1, cpu, -1, PERF_FLAG_FD_CLOEXEC)
            if fd < 0:
                err = ctypes.get_errno()
                for f in fds:
                    os.close(f)
                return f"perf_event_open({event}) on cpu{cpu}: {os.strerror(err)}"
            fds.append(fd)
        return cls(event, fds)

    def _ioctl(self, request: int) -> None:
        import fcntl

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
