"""Python functions run in a separate process inside a node's namespace.

A forked child moves into the namespace for good (``netns.setns_path``) before
it calls the function, so every socket, raw socket and thread it opens belongs
to the node. The result (or the exception's text) comes back over a pipe.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import traceback
from collections.abc import Callable
from typing import Any

from netlab.backend import netns

_FORK = multiprocessing.get_context("fork")


class ProcedureError(RuntimeError):
    """A function run in a node raised; carries the child's traceback text (``summary``: its first line)."""

    @property
    def summary(self) -> str:
        return str(self).split("\n", 1)[0]


def _entry(ns: str | None, fn: Callable, args: tuple, kwargs: dict, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        if ns:
            netns.setns_path(ns)
        result = ("ok", fn(*args, **kwargs))
    except BaseException as exc:  # sent to the parent, which raises it
        result = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
    try:
        conn.send(result)
    finally:
        conn.close()
        os._exit(0)


class NodeProcess:
    """A function running in a node; ``result()`` waits for its return value."""

    def __init__(self, ns: str | None, fn: Callable, *args: Any, **kwargs: Any):
        self._recv, send = _FORK.Pipe(duplex=False)
        self.name = getattr(fn, "__name__", "function")
        self.process = _FORK.Process(target=_entry, args=(ns, fn, args, kwargs, send), daemon=True)
        self.process.start()
        send.close()

    def result(self, timeout: float | None = None) -> Any:
        """The function's return value; ProcedureError if it raised, TimeoutError if late."""
        if not self._recv.poll(timeout):
            self.stop()
            raise TimeoutError(f"{self.name} did not finish within {timeout} s")
        try:
            status, value = self._recv.recv()
        except EOFError:
            status, value = "error", f"{self.name} died (exit code {self.process.exitcode})"
        self.process.join(5)
        if status != "ok":
            raise ProcedureError(value)
        return value

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        """Kill the process if it still runs (idempotent)."""
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)
        self._recv.close()
