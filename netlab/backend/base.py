"""What every backend is and how it fails: the protocol the executor drives.

The planner, the executor and every backend import this module, and a backend
imports nothing above it: ops reach a backend as plain names and JSON args.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from netlab.errors import NetlabError


class Backend(Protocol):
    """Makes plan ops real: ``run("link.veth", [args, ...])`` does the op for each args dict."""

    def run(self, op: str, batch: Sequence[dict]) -> None:
        """Do ``op`` for every args dict in ``batch``; raise StepFailed naming the one that failed."""

    def close(self) -> None: ...


BackendFactory = Callable[[], Backend]


class StepFailed(NetlabError):
    """Args dict ``index`` of a batch failed with ``cause`` (the kernel's or the engine's error)."""

    def __init__(self, index: int, cause: BaseException):
        self.index = index  # position inside the batch
        self.cause = cause
        super().__init__(str(cause))
