"""Processes inside a namespace: a command, or a Python function in a forked child.

Either way the child moves into the namespace for good (``netns.setns_path``)
before it runs anything, so every socket, raw socket and thread it opens
belongs to the namespace. A function's result (or the exception's text) comes
back over a pipe.
"""

from __future__ import annotations

import errno
import gc
import multiprocessing
import os
import signal
import subprocess
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from netlab.backend import netns

_FORK = multiprocessing.get_context("fork")


def popen(ns: str | None, argv: Sequence[str], **kw: Any) -> subprocess.Popen:
    """Start ``argv`` inside namespace ``ns`` (None: this one); ``subprocess.Popen`` keywords."""
    if ns is not None and not netns.exists(ns):
        raise FileNotFoundError(errno.ENOENT, "no such network namespace", netns.path(ns))
    pre = (lambda: netns.setns_path(ns)) if ns else None
    return subprocess.Popen(list(argv), preexec_fn=pre, **kw)


def run(ns: str | None, argv: Sequence[str], capture: bool = False, timeout: float | None = None,
        check: bool = False, input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``argv`` inside ``ns`` and wait; stdout and stderr captured as bytes if ``capture``.
    Killed if it outlives ``timeout`` (TimeoutExpired) or the caller is interrupted."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if capture else {}
    stdin = subprocess.PIPE if input is not None else subprocess.DEVNULL
    with popen(ns, argv, stdin=stdin, **pipes) as proc:
        try:
            out, err = proc.communicate(input, timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        result.check_returncode()
    return result


class ProcedureError(RuntimeError):
    """A function run in a node raised; carries the child's traceback text (``summary``: its first line)."""

    @property
    def summary(self) -> str:
        return str(self).split("\n", 1)[0]


def _entry(ns: str | None, fn: Callable, args: tuple, kwargs: dict, conn) -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    # The heap inherited from the parent (a test process's can be large) is not fn's: frozen,
    # a collection here never walks it, so its pages are not copied on write under a timed
    # loop (Python's gc.freeze advice for forked children; the counters come from the parent,
    # so the first collection may be a full one)
    gc.freeze()
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


def end_all(procs: list[subprocess.Popen | NodeProcess]) -> None:
    """Kill every process of ``procs`` that still runs, the last started first; empties the list."""
    for proc in reversed(procs):
        if isinstance(proc, NodeProcess):
            proc.stop()
        elif proc.poll() is None:
            proc.kill()
            proc.wait()
    procs.clear()
