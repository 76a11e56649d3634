"""Tracepoint ids from tracefs, with tracefs mounted for the read where the machine has none.

perf(1) mounts tracefs at /sys/kernel/tracing when it finds none, and leaves it
mounted. netlab mounts it too, but does not leave it: a perf tracepoint event is
opened by its numeric id (perf_event_attr.config), and reading that id is all
tracefs is needed for. So where no tracefs is mounted, the ids are read by a
thread of their own that first leaves the machine's mount namespace
(unshare(CLONE_NEWNS)), makes every mount in its copy private (MS_REC |
MS_PRIVATE, so nothing it mounts propagates back), and mounts tracefs at
/sys/kernel/tracing in that copy. The copy, and the mount in it, end with the
thread: the machine's mount table is never changed, so there is nothing to undo
after a crash or a kill -9, and two netlab runs never race over one mount.

``lookup`` answers with the ids it found, why each missing one is missing
(not root, no tracefs in this kernel, an event the kernel lacks), and how the
ids were read, for the benchmark's ``env`` block.
"""

from __future__ import annotations

import ctypes
import functools
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

MOUNT_POINT = "/sys/kernel/tracing"
# where a mounted tracefs may already be: its own mount point, or under debugfs (older setups)
PLACES = (MOUNT_POINT, "/sys/kernel/debug/tracing")
CLONE_NEWNS = 0x00020000
MS_REC = 0x4000
MS_PRIVATE = 1 << 18

_libc = ctypes.CDLL(None, use_errno=True)


@dataclass(frozen=True)
class Lookup:
    """Ids of tracepoints ("net:netif_rx" → 1234), why the others have none, and how they were read."""

    ids: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)
    how: str = ""


def _events_dir() -> str | None:
    """The events folder of a tracefs mounted on the machine (None if there is none)."""
    for place in PLACES:
        if os.path.isdir(f"{place}/events"):
            return f"{place}/events"
    return None


def _read(events_dir: str, events: Iterable[str]) -> tuple[dict[str, int], dict[str, str]]:
    ids, missing = {}, {}
    for event in events:
        group, _, name = event.partition(":")
        try:
            with open(f"{events_dir}/{group}/{name}/id") as fh:
                ids[event] = int(fh.read())
        except (OSError, ValueError) as exc:
            missing[event] = f"this kernel has no tracepoint {event} ({getattr(exc, 'strerror', exc)})"
    return ids, missing


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _mount_private_tracefs() -> None:
    """In the calling thread only: a private copy of the mount namespace with tracefs mounted."""
    _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
    _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _check(_libc.mount(b"tracefs", MOUNT_POINT.encode(), b"tracefs", 0, None), f"mount tracefs on {MOUNT_POINT}")


def _read_in_private_namespace(events: tuple[str, ...]) -> tuple[dict[str, int], dict[str, str]]:
    found: list = []

    def body() -> None:
        try:
            _mount_private_tracefs()
            found.append(_read(f"{MOUNT_POINT}/events", events))
        except OSError as exc:
            found.append(exc)

    # a thread of its own: unshare() changes only the calling thread's mount namespace,
    # and the namespace (with the mount) is released when the thread exits
    worker = threading.Thread(target=body, name="netlab-tracefs")
    worker.start()
    worker.join()
    if isinstance(found[0], OSError):
        raise found[0]
    return found[0]


@functools.cache
def lookup(events: tuple[str, ...]) -> Lookup:
    """The ids of ``events`` ("group:name"), read from a mounted tracefs or, as root where
    none is mounted, from one mounted for the read in a private mount namespace."""
    here = _events_dir()
    if here:
        ids, missing = _read(here, events)
        return Lookup(ids, missing, f"tracefs mounted at {here.removesuffix('/events')}")
    if os.geteuid() != 0:
        why = f"no tracefs mounted at {MOUNT_POINT}, and mounting one needs root"
        return Lookup({}, dict.fromkeys(events, why), why)
    try:
        ids, missing = _read_in_private_namespace(events)
    except OSError as exc:
        why = f"no tracefs mounted at {MOUNT_POINT}, and netlab could not mount one: {exc.strerror}"
        if exc.errno == 19:  # ENODEV: the kernel was built without tracefs
            why = "this kernel has no tracefs (CONFIG_TRACING off)"
        return Lookup({}, dict.fromkeys(events, why), why)
    how = (f"no tracefs mounted on the machine: netlab mounted one at {MOUNT_POINT} in a private mount "
           "namespace to read the tracepoint ids (the machine's mounts unchanged)")
    return Lookup(ids, missing, how)
