"""The state record under /run/netlab: what a lab's ``up`` set out to make.

The whole plan is written *before* the first kernel change, and every undo op
tolerates an object that is not there, so ``netlab down LAB`` removes exactly
what ``up`` made even after ``kill -9`` at any point. /run is a tmpfs: the
record goes away with a reboot, and so do the objects it describes.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from netlab import names
from netlab.errors import NetlabError, NoSuchLab
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


class BrokenRecord(NetlabError):
    """A record that cannot be read: cut short by a kill, or not netlab's writing."""


def _text(path: str) -> str:
    """A record file's text; BrokenRecord if it is not a regular file (a FIFO there would
    block every reader, a symlink would point at something netlab did not write)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    except OSError as exc:
        if exc.errno == errno.ENOENT:
            raise
        raise BrokenRecord(f"{path} cannot be read ({exc.strerror}): `netlab down` removes it") from None
    with os.fdopen(fd, errors="replace") as fh:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise BrokenRecord(f"{path} is not a regular file: not a record of netlab's (`netlab down` removes it)")
        return fh.read()


def read(lab: str) -> LabState:
    path = names.state_file(lab)
    try:
        body = json.loads(_text(path))
        return LabState(lab=body["lab"], source=body["source"], status=body["status"],
                        steps=tuple(Step.from_json(s) for s in body["steps"]), extra=body.get("extra", {}),
                        pid=body.get("pid"))
    except FileNotFoundError:
        raise NoSuchLab(f"no lab named {lab!r} is up (no {path}); `netlab list` shows the labs") from None
    except (ValueError, LookupError, TypeError, AttributeError) as exc:  # truncated, corrupt, or not a record
        raise BrokenRecord(f"{path} is not a whole state record ({type(exc).__name__}: {exc}); "
                           f"`netlab down {lab}` removes it and what it lists") from None


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


# how json.dumps writes a namespace step of a record (Step.to_json's key order): found in a
# record cut short too, so even a half-written record speaks for the namespaces it lists
_NETNS_STEP = re.compile(r'"op": "netns\.(?:create|attach)", "args": \{"ns": "([^"\\]+)"')


def half_written(lab: str) -> list[str]:
    """The record files of ``lab`` that are not a whole record: a .json.tmp (``up`` was killed
    while writing), or a .json that does not parse."""
    found = [names.state_file(lab) + ".tmp"] if os.path.exists(names.state_file(lab) + ".tmp") else []
    if os.path.exists(names.state_file(lab)):
        try:
            read(lab)
        except BrokenRecord:
            found.insert(0, names.state_file(lab))
    return found


def listed_namespaces(lab: str) -> set[str]:
    """Namespaces of ``lab`` that any record file of it lists, whole or cut short."""
    found: set[str] = set()
    for path in (names.state_file(lab), names.state_file(lab) + ".tmp"):
        try:
            found |= set(_NETNS_STEP.findall(_text(path)))
        except (OSError, BrokenRecord):
            continue
    return {ns for ns in found if (names.parse_netns(ns) or ("",))[0] == lab}


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
    """Labs with a record file (.json), readable or not."""
    return sorted({f[:-5] for f in _files() if f.endswith(".json")})


def records() -> list[str]:
    """Labs with a record file of any form: a record, or one half-written (.json.tmp)."""
    return sorted({f.removesuffix(".tmp")[:-5] for f in _files() if f.endswith((".json", ".json.tmp"))})


def _files() -> list[str]:
    try:
        return os.listdir(names.STATE_DIR)
    except FileNotFoundError:
        return []
