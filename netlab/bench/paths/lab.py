"""The benchmark's lab: built through the core from a shipped topology, and
always taken down again — at the end, on an error, on Ctrl-C and on SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator

from netlab import deploy, loader, names, state
from netlab.errors import LabExists
from netlab.labs.runner import signals_held
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
def built(topo: Topology) -> Iterator[Topology]:
    """``topo`` up for the duration of the block, down afterwards whatever happens."""
    clear_stale(topo.name)
    try:
        deploy.up(topo)
        yield topo
    finally:
        if state.exists(topo.name):
            with signals_held():
                deploy.down(topo.name)
