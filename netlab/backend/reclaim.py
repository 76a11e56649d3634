"""Whether the kernel has let go of deleted namespaces.

Deleting a namespace's last name returns at once; the kernel then tears it
down in its ``cleanup_net`` work queue: its devices, routes, sockets and slab
objects (~4 ms a namespace here, 40 s for 10,000). Until then they hold memory
and show in /proc/slabinfo's ``net_namespace`` count, which is all there is to
watch: the count is the machine's, other users' namespaces included.

The kernel frees the memory of the namespaces one ``cleanup_net`` run tore down only at
the start of the next run (``net_complete_free``, after an ``rcu_barrier``): the last
batch of a ``down`` stays on the count until some namespace, anyone's, goes. So when the
count stops falling, the wait drops a namespace of its own (``netns.throwaway``), whose
clean-up frees that batch; only the throwaway's own 4 KiB is left deferred.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from netlab.backend import netns, procfs


alive = procfs.namespaces_alive  # the kernel's net_namespace slab: None if unreadable


STRAYS, STILL_S = 64, 3.0  # a count this close to the target, not falling for this long, is done
NUDGE_S = 0.3  # not falling for this long: a throwaway namespace makes the kernel free its last batch


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
    nudged = fell
    while last is not None:
        above = last - base.alive - max(0, len(netns.listing()) - base.named) - slack
        if above <= 0 or time.monotonic() >= deadline:
            return max(0, above)
        if above <= STRAYS and time.monotonic() - fell >= STILL_S:
            return 0  # not falling any more: the few left are others' (unnamed ones, a container's)
        if time.monotonic() - max(fell, nudged) >= NUDGE_S:
            netns.throwaway()
            nudged = time.monotonic()
        time.sleep(0.1)
        now = alive()
        if now is not None and now < last:
            fell = time.monotonic()
            if progress:
                progress(last - now)
        last = now
    return None
