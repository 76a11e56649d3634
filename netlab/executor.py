"""Apply a plan through a backend, all or nothing.

The contract is pyroute2's Transaction.commit: if a step fails, undo every
step already done, in reverse order. Steps inside a namespace that the undo
deletes anyway are skipped: deleting the namespace removes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from itertools import groupby

from netlab import signals
from netlab.backend.base import Backend, StepFailed
from netlab.errors import NetlabError
from netlab.ops import describe
from netlab.step import Step

Progress = Callable[[int], None]


def apply(steps: Sequence[Step], backend: Backend, progress: Progress | None = None) -> None:
    """Run every step; on failure undo what was done and raise a NetlabError naming the step."""
    done = 0
    for op, group in groupby(steps, key=lambda s: s.op):
        batch = list(group)
        try:
            backend.run(op, [s.args for s in batch])
        except BaseException as exc:  # KeyboardInterrupt too: never leave half a lab
            failed = done + (exc.index if isinstance(exc, StepFailed) else 0)
            cause = exc.cause if isinstance(exc, StepFailed) else exc
            # the failing batch may have partly happened; undo tolerates what is absent.
            # A second Ctrl-C waits until the rollback is done, then acts.
            with signals.deferred():
                undo(steps[: done + len(batch)], backend)
            if not isinstance(exc, Exception):
                raise
            raise NetlabError(f"step {failed + 1} failed: {describe(steps[failed])}: {_reason(cause)}; "
                              f"everything done before it was undone") from cause
        done += len(batch)
        if progress:
            progress(len(batch))


def undo(steps: Sequence[Step], backend: Backend, progress: Progress | None = None) -> list[str]:
    """Reverse ``steps``; return the problems met (undo goes on past them)."""
    doomed = {s.args["ns"] for s in steps if s.undo == "netns.delete"}
    todo = [s for s in reversed(steps) if s.undo and not (s.scope in doomed and s.undo != "netns.delete")]
    problems: list[str] = []
    for op, group in groupby(todo, key=lambda s: s.undo):
        batch = list(group)
        try:
            backend.run(op, [s.args for s in batch])
        except StepFailed as exc:
            problems.append(f"{describe(batch[exc.index])}: {_reason(exc.cause)}")
            rest = batch[exc.index + 1:]
            problems += undo_each(rest, backend)
        if progress:
            progress(len(batch))
    return problems


def undo_each(steps: Iterable[Step], backend: Backend) -> list[str]:
    problems = []
    for s in steps:
        try:
            backend.run(s.undo, [s.args])
        except StepFailed as exc:
            problems.append(f"{describe(s)}: {_reason(exc.cause)}")
    return problems


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__
