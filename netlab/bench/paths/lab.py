"""The benchmark's lab: built through the core from a shipped topology, and
always taken down again — at the end, on an error, on Ctrl-C and on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import threading
from collections.abc import Iterator

from netlab import deploy, loader, names, state
from netlab.errors import LabExists
from netlab.resolve import Topology


def load(path: str, lab: str) -> Topology:
    """The topology at ``path``, renamed to ``lab`` (so tests and parallel runs never collide)."""
    with open(path) as fh:
        text = fh.read()
    text = re.sub(r"^name:.*$", f"name: {lab}", text, count=1, flags=re.M)
    return loader.load_text(text, str(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clear_stale(lab: str) -> bool:
    """Take down ``lab`` if a run that died left it up (its recorded pid is gone). True if it did."""
    if not state.exists(lab):
        return False
    with open(names.state_file(lab)) as fh:
        pid = json.load(fh).get("pid")
    if pid and _alive(pid) and pid != os.getpid():
        raise LabExists(f"lab {lab!r} is up and in use by process {pid}; pick another name with --lab")
    deploy.down(lab)
    return True


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises KeyboardInterrupt as Ctrl-C does, so every
    ``finally`` runs (only from the main thread, where Python delivers signals)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


@contextlib.contextmanager
def built(topo: Topology) -> Iterator[Topology]:
    """``topo`` up for the duration of the block, down afterwards whatever happens."""
    clear_stale(topo.name)
    try:
        deploy.up(topo)
        yield topo
    finally:
        if state.exists(topo.name):
            with _ignoring_interrupts():
                deploy.down(topo.name)


@contextlib.contextmanager
def _ignoring_interrupts() -> Iterator[None]:
    """A second Ctrl-C or SIGTERM must not cut the teardown short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = {s: signal.signal(s, signal.SIG_IGN) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
