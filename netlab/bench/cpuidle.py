"""Keep idle CPUs polling while a latency benchmark runs: a PM QoS request of
0 µs on /dev/cpu_dma_latency, the request cyclictest and tuned's latency
profiles make.

Why: in a request/response run one side sleeps while the other works. A CPU
that halts when idle wakes through the hypervisor, and on this VM that wake-up
(twice per round trip) is most of the round trip: 58 µs on loopback against
12 µs with idle CPUs polling, which buries what a hop costs. The kernel drops
the request when the file is closed, by us or by our death, so nothing
outlives the run.
"""

from __future__ import annotations

import contextlib
import glob
import os
import struct
from collections.abc import Iterator

DEVICE = "/dev/cpu_dma_latency"
SYSFS = "/sys/devices/system/cpu"


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def states(cpu: int = 0) -> list[dict]:
    """The idle states of one CPU: name and exit latency (µs), shallowest first."""
    out = []
    for d in sorted(glob.glob(f"{SYSFS}/cpu{cpu}/cpuidle/state*"), key=lambda p: int(p.rsplit("state", 1)[1])):
        latency = _read(f"{d}/latency")
        out.append({"name": _read(f"{d}/name"), "latency_us": int(latency) if latency else None})
    return out


def describe() -> dict:
    """The cpuidle driver, governor and states (what a hold changes)."""
    return {"driver": _read(f"{SYSFS}/cpuidle/current_driver"),
            "governor": _read(f"{SYSFS}/cpuidle/current_governor_ro") or _read(f"{SYSFS}/cpuidle/current_governor"),
            "states": states()}


@contextlib.contextmanager
def polling(enabled: bool = True) -> Iterator[dict]:
    """Hold idle CPUs in their shallowest (polling) state for the ``with`` block.

    Yields what was done: ``held`` (bool) and, when not held, ``why``."""
    info = {"asked": enabled, **describe()}
    if not enabled:
        yield {**info, "held": False, "why": "not asked for (--no-poll-idle)"}
        return
    try:
        fd = os.open(DEVICE, os.O_WRONLY | os.O_CLOEXEC)
    except OSError as exc:
        yield {**info, "held": False, "why": f"{DEVICE}: {exc.strerror}"}
        return
    try:
        os.write(fd, struct.pack("i", 0))
        held = {**info, "held": True, "request_us": 0}
        if not info["states"]:
            held["why"] = "no cpuidle driver: the request changes nothing here"
        yield held
    finally:
        os.close(fd)


WAITS = ("auto", "sleep", "spin")


def wait_mode(asked: str, hold: dict) -> dict:
    """How the latency engines wait for the other end: ``sleep`` in the kernel (fine where idle
    CPUs are held polling) or ``spin`` on non-blocking receives (where they halt, and a wake-up
    through the hypervisor would outweigh a hop). ``auto`` picks spin when the hold changes
    nothing: no cpuidle driver (``none``), no states, or /dev/cpu_dma_latency not writable."""
    if asked not in WAITS:
        raise ValueError(f"--wait {asked!r} is not one of: {', '.join(WAITS)}")
    if asked != "auto":
        return {"mode": asked, "why": "asked for (--wait)"}
    if hold.get("asked") is False:
        return {"mode": "sleep", "why": "--no-poll-idle: the ends sleep and idle CPUs halt, as asked"}
    if hold.get("held") and hold.get("states"):
        return {"mode": "sleep", "why": f"idle CPUs held polling (cpuidle driver {hold.get('driver')})"}
    why = hold.get("why") or "no cpuidle states"
    return {"mode": "spin", "why": f"idle CPUs cannot be held polling ({why}), so both ends spin instead of "
                                   "sleeping"}
