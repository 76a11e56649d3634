"""Where a measurement runs (which nodes, which cores) and the process handling
every engine shares: start inside a node, wait for a listener, read a JSON
line with a deadline, and stop for sure."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass

from netlab import names
from netlab.backend import procfs
from netlab.node import Node


class EngineError(RuntimeError):
    """An engine process failed; the message carries the end of its stderr."""


@dataclass(frozen=True)
class Ends:
    """Client and server of one path: nodes of ``lab`` (or, with lab None, this
    namespace), the address the client dials, and the cores each end is pinned to."""

    address: str
    lab: str | None = None
    client: str | None = None
    server: str | None = None
    client_cpu: int | None = 0
    server_cpu: int | None = 1

    def netns_path(self, node: str | None) -> str | None:
        return names.netns_path(self.lab, node) if self.lab and node else None


def cores(same_core: bool) -> tuple[int | None, int | None]:
    """(client core, server core): two different cores, or one for both."""
    cpus = sorted(os.sched_getaffinity(0))
    if same_core or len(cpus) < 2:
        return cpus[0], cpus[0]
    return cpus[0], cpus[1]


def pinned(argv: Sequence[str], cpu: int | None) -> list[str]:
    return (["taskset", "-c", str(cpu)] if cpu is not None else []) + list(argv)


def spawn(ends: Ends, node: str | None, argv: Sequence[str]) -> subprocess.Popen:
    """Start ``argv`` inside ``node`` (its own session, so a stop reaches its children)."""
    pipes = {"stdin": subprocess.DEVNULL, "stdout": subprocess.PIPE, "stderr": subprocess.PIPE,
             "start_new_session": True}
    if ends.lab and node:
        # kind="netns": enter the node's network namespace only, so the host's tools run in a
        # container node too (its namespace is named like any other; `docker exec` would look
        # for sockperf inside the image)
        return Node(ends.lab, node, kind="netns").popen(argv, **pipes)
    return subprocess.Popen(list(argv), **pipes)


def read_json_line(proc: subprocess.Popen, timeout: float, what: str) -> dict:
    """The next JSON line on ``proc``'s stdout, or EngineError after ``timeout`` s."""
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        raise EngineError(f"{what}: no answer in {timeout:g} s")
    line = proc.stdout.readline()
    if not line:
        proc.wait(5)
        raise EngineError(f"{what}: exited {proc.returncode}{_stderr_tail(proc)}")
    return json.loads(line)


def finish(proc: subprocess.Popen, timeout: float, what: str) -> bytes:
    """Wait for ``proc`` and return its stdout; EngineError if it fails or overruns."""
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop(proc)
        raise EngineError(f"{what}: still running after {timeout:g} s (killed)") from None
    if proc.returncode != 0:
        raise EngineError(f"{what}: exited {proc.returncode}: {_tail(err)}")
    return out


def stop(proc: subprocess.Popen | None, grace: float = 2.0) -> None:
    """SIGTERM the process's session, then SIGKILL; reap it."""
    if proc is None or proc.poll() is not None:
        _close(proc)
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            break
        try:
            proc.wait(wait)
            break
        except subprocess.TimeoutExpired:
            continue
    _close(proc)


def _close(proc: subprocess.Popen | None) -> None:
    if proc is None:
        return
    for f in (proc.stdout, proc.stderr):
        if f:
            f.close()


def wait_listening(proc: subprocess.Popen, port: int, timeout: float, what: str) -> None:
    """Wait until ``proc``'s namespace has a TCP listener on ``port`` (read from
    /proc/PID/net/tcp, so nothing connects to the server early)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise EngineError(f"{what}: exited {proc.returncode} before listening{_stderr_tail(proc)}")
        if procfs.listening(proc.pid, port):
            return
        time.sleep(0.01)
    raise EngineError(f"{what}: not listening on port {port} after {timeout:g} s")


def _stderr_tail(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        return ""
    return f": {_tail(proc.stderr.read())}"


def _tail(err: bytes | None) -> str:
    text = (err or b"").decode(errors="replace").strip()
    return text[-400:] or "(no stderr)"
