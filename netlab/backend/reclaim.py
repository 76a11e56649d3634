"""Whether the kernel has let go of deleted namespaces.

Deleting a namespace's last name returns at once; the kernel then tears it
down in its ``cleanup_net`` work queue: its devices, routes, sockets and slab
objects (~4 ms a namespace here, 40 s for 10,000). Until then they hold memory
and show in /proc/slabinfo's ``net_namespace`` count, which is all there is to
watch: the count is the machine's, other users' namespaces included.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def alive() -> int | None:
    """Network namespaces the kernel holds right now (its net_namespace slab), or None if unreadable."""
    try:
        with open("/proc/slabinfo") as fh:
            for line in fh:
                if line.startswith("net_namespace "):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def wait_freed(target: int | None, timeout: float, progress: Callable[[int], None] | None = None,
               slack: int = 8) -> int | None:
    """Wait until the kernel holds at most ``target`` (+ ``slack``: others come and go)
    namespaces; how many above it are still being freed when it returns (0: done),
    or None if that cannot be seen."""
    if target is None:
        return None
    deadline = time.monotonic() + timeout
    last = alive()
    while last is not None and last > target + slack and time.monotonic() < deadline:
        time.sleep(0.05)
        now = alive()
        if progress and now is not None and now < last:
            progress(last - now)
        last = now
    return None if last is None else max(0, last - target - slack)
