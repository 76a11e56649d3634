"""One lab lifecycle for everything that holds a lab up — the API, the labs, every
benchmark: build it all or nothing, hand out a ``Lab`` to work with, take it down
at the end of a ``with`` block, on an exception and on SIGINT/SIGTERM/SIGHUP
(the policy of netlab.signals).

``up`` builds through netlab.deploy (plan → apply with rollback → state record);
``Lab`` runs things in the lab's nodes (netlab.node), changes it while it runs
(netlab.live) and reports it (netlab.status).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from netlab import deploy, live, signals, state, status as lab_status
from netlab.backend import process, procfs
from netlab.backend.process import NodeProcess
from netlab.builder import Topology
from netlab.errors import LabExists, NetlabError
from netlab.node import Node
from netlab.resolve import Topology as Model

Command = str | Sequence[str]  # a string runs through `sh -c`
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Result:
    """What a command run in a node did: its exit status and output (decoded, errors replaced)."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _argv(command: Command) -> list[str]:
    return ["sh", "-c", command] if isinstance(command, str) else list(command)


class Lab:
    """A lab that is up. Used as a context manager (``with netlab.up(topo) as lab:``) it is
    taken down when the block ends, raises, or the process gets SIGINT, SIGTERM or SIGHUP."""

    def __init__(self, name: str, model: Model | None, owned: bool) -> None:
        self.name = name
        self.topology = model  # the validated model it was built from (None if attached)
        self.owned = owned  # brought up by this handle: ``with`` takes it down
        self._procs: list[subprocess.Popen | NodeProcess] = []
        self._policy = signals.acquire() if owned else None

    def __repr__(self) -> str:
        return f"<Lab {self.name}{'' if self.owned else ' (attached)'}>"

    def __enter__(self) -> Lab:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.owned:
            self.down()
        else:
            self.close()

    # -- nodes -----------------------------------------------------------------
    @property
    def nodes(self) -> list[str]:
        """The lab's node names."""
        return sorted(self._kinds())

    def _kinds(self) -> dict[str, str]:
        if self.topology is not None:
            return {n: spec.kind for n, spec in self.topology.nodes.items()}
        return dict(state.read(self.name).extra.get("kinds", {}))

    def node(self, name: str) -> Node:
        """The node ``name``: commands, Python code, counters and sysctls in it (netlab.node.Node)."""
        kinds_of = self._kinds()
        if name not in kinds_of:
            raise NetlabError(f"lab {self.name} has no node {name!r} (nodes: {', '.join(sorted(kinds_of))})")
        return Node(self.name, name, kinds_of[name])

    def exec(self, node: str, command: Command, *, timeout: float | None = None, check: bool = False,
             input: str | None = None) -> Result:
        """Run ``command`` (an argv list, or a string for `sh -c`) in ``node`` and wait for it.
        With ``check``, a non-zero exit raises NetlabError with the end of its stderr."""
        argv = _argv(command)
        done = self.node(node).run(argv, capture=True, timeout=timeout,
                                   input=input.encode() if input is not None else None)
        result = Result(tuple(argv), done.returncode, done.stdout.decode(errors="replace"),
                        done.stderr.decode(errors="replace"))
        if check and not result.ok:
            raise NetlabError(f"`{' '.join(argv)}` in {node} exited {result.returncode}: "
                              f"{(result.stderr or result.stdout).strip()[-300:]}")
        return result

    def popen(self, node: str, command: Command, **kw: Any) -> subprocess.Popen:
        """Start ``command`` in ``node`` (``subprocess.Popen`` keywords); it is killed when the
        lab goes down (or this handle is closed) if it still runs."""
        proc = self.node(node).popen(_argv(command), **kw)
        self._procs.append(proc)
        return proc

    def inside(self, node: str) -> AbstractContextManager[None]:
        """``with lab.inside("h1"):`` runs the body (this thread) in the node's network namespace."""
        return self.node(node).inside()

    def call(self, node: str, fn: Callable, *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` in a new process inside ``node``; its return value (it must pickle)."""
        return self.node(node).call(fn, *args, timeout=timeout, **kwargs)

    def addr(self, node: str, version: int = 4) -> str:
        """The node's first address of IP ``version`` (what "ping h1" means), as a string."""
        self.node(node)
        found = (self.topology.address_of(node, version) if self.topology is not None
                 else _recorded_address(self.name, node, version))
        if found is None:
            raise NetlabError(f"node {node} of lab {self.name} has no IPv{version} address")
        return str(found)

    # -- the running lab ------------------------------------------------------------
    def status(self) -> dict:
        """The lab as the kernel reports it: the data `netlab status --json` prints."""
        return lab_status.lab_status(self.name)

    def link(self, endpoint: str) -> live.Link:
        """One end of a link, ``"node:interface"``: ``.down()``, ``.up()``, ``.set(rate=, loss=, delay=)``,
        ``.reset()``, ``.show()``."""
        return live.Link(self.name, endpoint)

    def close(self) -> None:
        """End every process started through this handle (the lab stays up)."""
        process.end_all(self._procs)

    def down(self, progress: Progress | None = None) -> list[str]:
        """End the handle's processes and take the lab down (the problems met, if any); idempotent."""
        try:
            with signals.deferred():
                self.close()
                return deploy.down(self.name, progress) if state.exists(self.name) else []
        finally:
            signals.release(self._policy)
            self._policy = None


def _recorded_address(lab: str, node: str, version: int) -> str | None:
    """A node's first address from the lab's record, in the order the model gives it
    (its veth ends' addresses before its bridges')."""
    record = state.read(lab)
    ns = Node(lab, node, record.extra.get("kinds", {}).get(node, "netns")).ns
    bridges = {s.args["name"] for s in record.steps if s.op == "link.bridge" and s.args["ns"] == ns}
    addrs = [s.args for s in record.steps if s.op == "addr.add" and s.args["ns"] == ns]
    for a in sorted(addrs, key=lambda a: a["dev"] in bridges):
        ip = a["address"].split("/")[0]
        if (":" in ip) == (version == 6):
            return ip
    return None


def up(topo: Topology | Model, *, progress: Progress | None = None, replace_stale: bool = False) -> Lab:
    """Build ``topo`` on the kernel, all or nothing, and return the Lab. ``replace_stale``: first take
    down a lab of the same name left up by a process that is gone (LabExists if its process lives)."""
    model = topo.validate() if isinstance(topo, Topology) else topo
    handle = Lab(model.name, model, owned=True)
    try:
        if replace_stale:
            _clear_stale(model.name)
        # who holds the lab: a later run may take it down once this process is gone
        deploy.up(model, progress, {"held_by": {"pid": os.getpid(), "start": procfs.start_ticks(os.getpid())}})
    except BaseException:
        signals.release(handle._policy)
        raise
    return handle


def attach(name: str) -> Lab:
    """A handle on a lab that is already up (by `netlab up`, another process): ``with`` does not
    take it down; ``down()`` does."""
    state.read(name)  # NoSuchLab naming `netlab list`
    return Lab(name, None, owned=False)


def _clear_stale(lab: str) -> None:
    """Take down ``lab`` if the process that held it (through ``up``) is gone; LabExists if it
    lives, or if no process held it (`netlab up` made it, to stay up)."""
    if not state.exists(lab):
        return
    held = state.read(lab).extra.get("held_by")
    if not held:
        raise LabExists(f"lab {lab!r} is up and no program holds it (`netlab up` made it?): pick another name, "
                        f"or `netlab down {lab}` if it is yours")
    if procfs.start_ticks(held["pid"]) == held["start"]:
        raise LabExists(f"lab {lab!r} is up and in use by process {held['pid']}; pick another name")
    deploy.down(lab)
