"""A plan step: one kernel change, its inverse, and where it lives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Step:
    """One change ``up`` makes.

    op: what to do, e.g. ``link.veth`` (a backend method ``link_veth`` does it);
    args: its arguments, JSON-serialisable so the state record can keep them;
    undo: the op that reverses it, called with the same args (None: nothing to undo);
    scope: the namespace holding the object: once that namespace is deleted the
    object is gone too, so rollback and ``down`` need not undo it one by one.
    """

    op: str
    args: dict[str, Any] = field(default_factory=dict)
    undo: str | None = None
    scope: str | None = None

    def to_json(self) -> dict[str, Any]:
        # not dataclasses.asdict: its deep copy of every args dict is most of the
        # cost of writing a 1,000-node lab's state record (args are JSON already)
        return {"op": self.op, "args": self.args, "undo": self.undo, "scope": self.scope}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Step":
        return cls(**data)
