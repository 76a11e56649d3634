"""What a lab costs the kernel in memory: /proc/meminfo before and after `up`.

Slab is where namespaces, devices, sysfs and sysctl entries live; "Used" is
MemTotal − MemAvailable. Both are the machine's: other users' work moves them
too, so per-node figures of big labs are the trustworthy ones."""

from __future__ import annotations

from netlab.backend import procfs


def meminfo() -> dict[str, int]:
    """KiB figures of /proc/meminfo, plus ``Used``."""
    out = {key: value // 1024 for key, value in procfs.meminfo().items()}
    out["Used"] = out["MemTotal"] - out.get("MemAvailable", out.get("MemFree", 0))
    return out
