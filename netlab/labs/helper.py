"""A lab's helper program (a C helper from cbuild, or a script) running in a node
and talking in lines: it prints one line when it is ready, then answers every line
written to its stdin with ``key=value`` counters, and exits when stdin closes.

The helpers die with the lab: closing stdin ends them, the lab kills what is left
(``lab.popen``), and the C helpers also ask the kernel to kill them when their
parent dies (PR_SET_PDEATHSIG), so a SIGKILLed lab leaves no helper behind either.
"""

from __future__ import annotations

import os
import select
import subprocess
import time
from collections.abc import Sequence


class HelperError(RuntimeError):
    """The helper died, printed something unexpected, or did not answer in time."""


class Helper:
    """One running helper; ``pid`` is the process to read /proc counters of."""

    def __init__(self, proc: subprocess.Popen, name: str):
        self.proc, self.name = proc, name
        self._buf = b""  # what was read past the last whole line

    @property
    def pid(self) -> int:
        return self.proc.pid

    def line(self, timeout: float = 30) -> str:
        """The next line the helper prints; HelperError if it dies or stays silent."""
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise HelperError(f"{self.name} printed nothing within {timeout} s")
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                self.proc.wait(5)
                err = self.proc.stderr.read().decode(errors="replace").strip() if self.proc.stderr else ""
                raise HelperError(f"{self.name} exited ({self.proc.returncode}): {err[-500:]}")
            self._buf += chunk
        text, self._buf = self._buf.split(b"\n", 1)
        return text.decode().strip()

    def ask(self, timeout: float = 30) -> dict[str, int]:
        """Write a line, read the ``key=value ...`` answer."""
        try:
            self.proc.stdin.write(b"\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass  # the helper is gone: line() says why
        answer = self.line(timeout)
        try:
            return {k: int(v) for k, v in (word.split("=", 1) for word in answer.split())}
        except ValueError:
            raise HelperError(f"{self.name} answered {answer!r}, not key=value counters") from None

    def close(self, timeout: float = 5) -> None:
        """Close stdin (the helper exits) and wait; kill it if it does not."""
        try:
            self.proc.stdin.close()
        except BrokenPipeError:
            pass
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                pipe.close()

    def __enter__(self) -> "Helper":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def pinned(argv: Sequence, cpu: int) -> list[str]:
    """``argv`` run on CPU ``cpu`` only (taskset execs it: same pid, so PR_SET_PDEATHSIG holds)."""
    return ["taskset", "-c", str(cpu), *map(str, argv)]


def start(lab, node: str, argv: Sequence[str], name: str | None = None) -> Helper:
    """Start ``argv`` in ``node`` with its stdin and stdout as pipes of lines."""
    proc = lab.popen(node, [str(a) for a in argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, bufsize=0)
    return Helper(proc, name or str(argv[0]).rsplit("/", 1)[-1])
