"""The state record under /run/netlab: what a lab's ``up`` set out to make.

The whole plan is written *before* the first kernel change, and every undo op
tolerates an object that is not there, so ``netlab down LAB`` removes exactly
what ``up`` made even after ``kill -9`` at any point. /run is a tmpfs: the
record goes away with a reboot, and so do the objects it describes.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netlab import names
from netlab.errors import NoSuchLab
from netlab.plan import Plan
from netlab.step import Step


@dataclass(frozen=True)
class LabState:
    lab: str
    source: str
    status: str  # "building", "up"
    steps: tuple[Step, ...]
    extra: dict[str, Any]
    pid: int | None = None  # the process that brought the lab up

    @property
    def plan(self) -> Plan:
        return Plan(lab=self.lab, source=self.source, steps=self.steps)


def write(plan: Plan, status: str, extra: dict[str, Any] | None = None, pid: int | None = None) -> None:
    os.makedirs(names.STATE_DIR, exist_ok=True)
    body = {"lab": plan.lab, "source": plan.source, "status": status, "pid": pid or os.getpid(),
            "steps": [s.to_json() for s in plan.steps], "extra": extra or {}}
    tmp = names.state_file(plan.lab) + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(json.dumps(body))  # dumps uses the C encoder; dump(fh) is pure Python
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, names.state_file(plan.lab))


def read(lab: str) -> LabState:
    try:
        with open(names.state_file(lab)) as fh:
            body = json.load(fh)
    except FileNotFoundError:
        raise NoSuchLab(f"no lab named {lab!r} is up (no {names.state_file(lab)}); `netlab list` shows the labs") from None
    return LabState(lab=body["lab"], source=body["source"], status=body["status"],
                    steps=tuple(Step.from_json(s) for s in body["steps"]), extra=body.get("extra", {}),
                    pid=body.get("pid"))


@contextlib.contextmanager
def changing(lab: str) -> Iterator[dict[str, Any]]:
    """The record's ``extra``, to change in the body; written back when it ends. One change
    at a time on the machine (a lock on the state directory); the record keeps its pid."""
    os.makedirs(names.STATE_DIR, exist_ok=True)
    fd = os.open(names.STATE_DIR, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        record = read(lab)
        extra = dict(record.extra)
        yield extra
        write(record.plan, record.status, extra, pid=record.pid)
    finally:
        os.close(fd)  # and with it the lock


def exists(lab: str) -> bool:
    return os.path.exists(names.state_file(lab))


def remove(lab: str) -> None:
    """Remove the record, and a half-written one that `kill -9` may have left."""
    for path in (names.state_file(lab), names.state_file(lab) + ".tmp"):
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


def labs() -> list[str]:
    try:
        return sorted(f[:-5] for f in os.listdir(names.STATE_DIR) if f.endswith(".json"))
    except FileNotFoundError:
        return []
