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
from dataclasses import dataclass

from netlab.backend import netns, procfs


alive = procfs.namespaces_alive  # the kernel's net_namespace slab: None if unreadable


STRAYS, STILL_S = 64, 3.0  # a count this close to the target, not falling for this long, is done


@dataclass(frozen=True)
class Baseline:
    """The kernel's namespace count before a lab goes, less the lab's own, and how
    many named namespaces others had then (their new ones are allowed for)."""

    alive: int
    named: int


def baseline(ours: int) -> Baseline | None:
    """Taken just before ``ours`` namespaces are deleted."""
    count = alive()
    return None if count is None else Baseline(count - ours, len(netns.listing()) - ours)


def wait_freed(base: Baseline | None, timeout: float, progress: Callable[[int], None] | None = None,
               slack: int = 8) -> int | None:
    """Wait until the kernel holds no more namespaces than ``base`` (plus named ones
    others made since, plus ``slack`` for unnamed ones); how many above that are still
    being freed when it returns (0: done), or None if that cannot be seen."""
    if base is None:
        return None
    deadline = time.monotonic() + timeout
    last, fell = alive(), time.monotonic()
    while last is not None:
        above = last - base.alive - max(0, len(netns.listing()) - base.named) - slack
        if above <= 0 or time.monotonic() >= deadline:
            return max(0, above)
        if above <= STRAYS and time.monotonic() - fell >= STILL_S:
            return 0  # not falling any more: the few left are others' (unnamed ones, a container's)
        time.sleep(0.1)
        now = alive()
        if now is not None and now < last:
            fell = time.monotonic()
            if progress:
                progress(last - now)
        last = now
    return None
