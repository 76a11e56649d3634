"""Run commands and Python code inside a lab node."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator, Sequence

from netlab import kinds, names
from netlab.backend import netns


def _kind_of(lab: str, node: str) -> str:
    from netlab import state  # late: state imports the planner

    for step in state.read(lab).steps:
        if step.op == "exec.run" and step.args["node"] == node:
            return step.args["kind"]
    return state.read(lab).extra.get("kinds", {}).get(node, "netns")


def argv_for(lab: str, node: str, argv: Sequence[str], kind: str | None = None) -> tuple[str | None, list[str]]:
    """(namespace to enter, argv) that runs ``argv`` in ``node`` of ``lab``."""
    return kinds.kind(kind or _kind_of(lab, node)).exec_argv(lab, node, list(argv))


def popen(lab: str, node: str, argv: Sequence[str], kind: str | None = None, **kw) -> subprocess.Popen:
    ns, full = argv_for(lab, node, argv, kind)
    if ns is not None and not netns.exists(ns):
        raise FileNotFoundError(f"node {node} of lab {lab} has no namespace {ns}")
    pre = (lambda: netns.setns_path(ns)) if ns else None
    return subprocess.Popen(full, preexec_fn=pre, **kw)


def run(lab: str, node: str, argv: Sequence[str], capture: bool = False, timeout: float | None = None,
        kind: str | None = None, check: bool = False) -> subprocess.CompletedProcess:
    """Run ``argv`` in the node and wait; stdout/stderr captured as bytes if ``capture``."""
    pipes = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE} if capture else {}
    with popen(lab, node, argv, kind, stdin=subprocess.DEVNULL, **pipes) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
    result = subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
    if check:
        result.check_returncode()
    return result


@contextlib.contextmanager
def inside(lab: str, node: str) -> Iterator[None]:
    """Run the body (this thread only) in the node's namespace: sockets opened
    there belong to the node."""
    with netns.entered(names.netns(lab, node)):
        yield
