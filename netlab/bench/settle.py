"""Waiting for the kernel to finish freeing namespaces a previous lab left to it.

Deleting a namespace returns at once; the kernel frees its devices, sockets and
slab objects later, in a work queue. A benchmark that starts meanwhile measures
that clean-up as well as its own work (slab deltas go down, CPU goes up).
"""

from __future__ import annotations

import time

from netlab.backend.reclaim import alive as namespaces_alive


def settle(baseline: int | None, timeout: float, slack: int = 8) -> float | None:
    """Wait until the kernel is back to ``baseline`` namespaces (within ``slack``: other
    users come and go); seconds waited, or None if that cannot be seen or took too long."""
    if baseline is None:
        return None
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        alive = namespaces_alive()
        if alive is None or alive <= baseline + slack:
            return round(time.perf_counter() - start, 3)
        time.sleep(0.05)
    return None


def wait_steady(timeout: float = 10.0, still: float = 0.3) -> float | None:
    """Wait until the kernel's namespace count has not fallen for ``still`` seconds;
    seconds waited, or None if it cannot be seen or did not settle in ``timeout``."""
    start = time.perf_counter()
    last, since = namespaces_alive(), time.perf_counter()
    if last is None:
        return None
    while time.perf_counter() - start < timeout:
        time.sleep(0.05)
        now = namespaces_alive()
        if now is None:
            return None
        if now < last:
            last, since = now, time.perf_counter()
        elif time.perf_counter() - since >= still:
            return round(time.perf_counter() - start, 3)
    return None
