"""A run killed with SIGKILL cannot take its labs down; the next run finds them and does.

Every lab a run builds carries a stamp of that run in its state record's
``source``: ``<bench conns LAB: run PID started TICKS>``, TICKS being the
process's start time in clock ticks since boot (field 22 of /proc/PID/stat),
so a recycled pid is never taken for the run. A lab whose stamp names a
process that no longer lives is a leftover of a killed run, and a new run with
the same lab name removes it (its workers died with it: PR_SET_PDEATHSIG). A
lab whose run is alive, or that carries no stamp, is not this run's to
touch: the run stops and says so. ``netlab down --all`` removes the same
leftovers, since they are ordinary labs with records.
"""

from __future__ import annotations

import os
import re

from netlab import deploy, state
from netlab.backend import procfs
from netlab.errors import NetlabError

_STAMP = re.compile(r"^<bench conns (?P<lab>[^:>]+): run (?P<pid>\d+) started (?P<start>\d+)>$")


start_ticks = procfs.start_ticks


def stamp(lab: str, pid: int | None = None) -> str:
    """The ``source`` a lab built by this process carries."""
    pid = pid or os.getpid()
    return f"<bench conns {lab}: run {pid} started {start_ticks(pid) or 0}>"


def owner(source: str) -> tuple[int, int] | None:
    """(pid, start ticks) of the run a stamp names; None if ``source`` is not a stamp."""
    m = _STAMP.match(source or "")
    return (int(m["pid"]), int(m["start"])) if m else None


def alive(pid: int, start: int) -> bool:
    return start_ticks(pid) == start


def clear(labs: tuple[str, ...]) -> list[dict]:
    """Take down those of ``labs`` that a killed run left; what was removed (lab, pid of the run).

    Raises NetlabError, before any change, if one of them is up and is not such a leftover."""
    stale = []
    for lab in labs:
        if not state.exists(lab):
            continue
        try:
            source = state.read(lab).source
        except (NetlabError, ValueError, KeyError):
            source = ""
        run = owner(source)
        if run is None:
            raise NetlabError(f"lab {lab!r} is up and was not built by `netlab bench conns` ({source or 'no source'}); "
                              f"choose another --lab, or `netlab down {lab}` if it is yours")
        if alive(*run):
            raise NetlabError(f"lab {lab!r} belongs to a `netlab bench conns` run that is still going "
                              f"(pid {run[0]}); choose another --lab")
        stale.append((lab, run[0]))
    for lab, _ in stale:
        deploy.down(lab)
    return [{"lab": lab, "run_pid": pid} for lab, pid in stale]
