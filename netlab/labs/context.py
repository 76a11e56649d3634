"""What a lab's procedure works with: its nodes, parameters, counters and figures.

One ``LabContext`` per run. Everything it starts (processes, nftables tables)
is recorded and ended by ``close()``, which the runner calls before the lab's
namespaces go away, also after an error or a signal.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from netlab import signals
from netlab.backend import nft, process, procfs, rps
from netlab.backend.process import NodeProcess
from netlab.labs.checks import Figure
from netlab.labs.spec import LabSpec
from netlab.node import Node
from netlab.resolve import Topology

LAB_TABLE = "netlab_lab"  # the nftables table a lab owns in a node, removed at the end
NFT_CHAINS = ("input", "output", "prerouting")
NFT_BATCH = 200  # rules per libnftables call: each call is one transaction of the kernel


class LabSkipped(Exception):
    """The kernel lacks what the lab needs; the lab is skipped, not failed."""


@dataclass(frozen=True)
class Series:
    """Points for a chart in the report: y against x, one line per label."""

    name: str
    title: str
    x_label: str
    y_label: str
    lines: dict[str, list[tuple[float, float]]]
    kind: str = "line"  # or "bar": x is the index of a category
    categories: tuple[str, ...] = ()
    log: str = ""  # "x", "y" or "xy": those axes on a log scale


@dataclass
class LabContext:
    spec: LabSpec
    lab: str
    topo: Topology | None
    short: bool
    params: dict[str, Any]
    on_step: Callable[[str], None] = lambda text: None
    figures: dict[str, Figure] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    _procs: list[Any] = field(default_factory=list)
    _nft_nodes: set[str] = field(default_factory=set)

    # --- nodes -----------------------------------------------------------------
    def node(self, name: str) -> Node:
        """The node ``name`` of the lab's topology (KeyError naming the nodes there are)."""
        if self.topo is None or name not in self.topo.nodes:
            nodes = sorted(self.topo.nodes) if self.topo else []
            raise KeyError(f"lab {self.spec.name} has no node {name!r} (nodes: {', '.join(nodes) or 'none'})")
        return Node(self.lab, name, self.topo.nodes[name].kind)

    def ns(self, node: str) -> str | None:
        return self.node(node).ns

    def addr(self, node: str) -> str:
        """The node's first IPv4 address, as a string."""
        return str(self.topo.address_of(node))

    def run(self, node: str, argv: Sequence[str], **kw) -> subprocess.CompletedProcess:
        """Run a command in the node and wait (``Node.run`` keywords: capture, timeout, check, input)."""
        return self.node(node).run(argv, **kw)

    def popen(self, node: str, argv: Sequence[str], **kw) -> subprocess.Popen:
        """Start a command in the node; it is killed at the end of the lab if still running."""
        proc = self.node(node).popen(argv, **kw)
        self._procs.append(proc)
        return proc

    def inside(self, node: str):
        """Context manager: the calling thread is in the node's namespace for the body."""
        return self.node(node).inside()

    def spawn(self, node: str, fn: Callable, *args: Any, **kwargs: Any) -> NodeProcess:
        """Run ``fn(*args)`` in a new process inside the node; ``.result(timeout)`` waits for it."""
        proc = self.node(node).spawn(fn, *args, **kwargs)
        self._procs.append(proc)
        return proc

    def call(self, node: str, fn: Callable, *args: Any, timeout: float = 60, **kwargs: Any) -> Any:
        """``fn(*args)`` in a new process inside the node; its return value."""
        return self.spawn(node, fn, *args, **kwargs).result(timeout)

    def socket(self, node: str):
        """A TCP socket belonging to the node."""
        return self.node(node).socket()

    def timed_connect(self, node: str, addr: tuple[str, int], timeout: float) -> tuple[float, int]:
        """(seconds, errno or 0) of one blocking connect() from the node."""
        return self.node(node).timed_connect(addr, timeout)

    # --- kernel state ----------------------------------------------------------
    def sysctl(self, node: str, key: str, value: Any) -> str:
        """Set a per-namespace sysctl in the node (never the root namespace); the old value."""
        return self.node(node).set_sysctl(key, value)

    def sysctl_get(self, node: str, key: str) -> str:
        return self.node(node).sysctl(key)

    def has_sysctl(self, node: str, key: str) -> bool:
        try:
            self.sysctl_get(node, key)
        except FileNotFoundError:
            return False
        return True

    def nstat(self, node: str) -> dict[str, int]:
        return self.node(node).nstat()

    @contextlib.contextmanager
    def counting(self, node: str) -> Iterator[dict[str, int]]:
        """The body's nstat deltas in the node: the dict is filled when the body ends."""
        before, moved = self.nstat(node), {}
        yield moved
        moved.update(procfs.delta(before, self.nstat(node)))

    def sockstat(self, node: str) -> dict[str, dict[str, int]]:
        return self.node(node).sockstat()

    def netdev(self, node: str) -> dict[str, dict[str, int]]:
        return self.node(node).netdev()

    def ss_states(self, node: str) -> dict[str, int]:
        """TCP sockets of the node per state as `ss -Htan` names them (ESTAB, SYN-RECV, TIME-WAIT, ...)."""
        out = self.run(node, ["ss", "-Htan"], capture=True, timeout=60, check=True).stdout
        return dict(procfs.parse_ss_states(out.decode()))

    softirqs = staticmethod(procfs.softirqs)
    softirqs_per_cpu = staticmethod(procfs.softirqs_per_cpu)
    softnet = staticmethod(procfs.softnet)
    interrupts = staticmethod(procfs.interrupts)
    slabinfo = staticmethod(procfs.slabinfo)

    def rps(self, node: str, ifname: str, cpus: Sequence[int]) -> list[str]:
        """Steer the receive work of the node's ``ifname`` to ``cpus`` (RPS; empty: off).
        The setting belongs to the interface, so it goes with the lab's namespace."""
        return rps.rps_set(self.ns(node), ifname, cpus)

    def nft(self, node: str, rules: Sequence[str]) -> None:
        """Add rules (nft syntax, e.g. "input tcp dport 80 drop") to the lab's own
        table in the node; chains input, output and prerouting exist. Removed at the end."""
        self._nft_table(node)
        adds = [f"add rule inet {LAB_TABLE} {chain} {expr}" for chain, _, expr in (r.partition(" ") for r in rules)]
        for first in range(0, len(adds), NFT_BATCH):
            self._nft_cmd(node, "; ".join(adds[first:first + NFT_BATCH]))

    def nft_flush(self, node: str) -> None:
        """Drop every rule of the lab's table in the node (the chains stay)."""
        if node in self._nft_nodes:
            self._nft_cmd(node, "; ".join(f"flush chain inet {LAB_TABLE} {c}" for c in NFT_CHAINS))

    def _nft_table(self, node: str) -> None:
        if node in self._nft_nodes:
            return
        chains = "; ".join(f"add chain inet {LAB_TABLE} {c} {{ type filter hook {c} priority 0; }}"
                           for c in NFT_CHAINS)
        self._nft_cmd(node, f"add table inet {LAB_TABLE}; {chains}")
        self._nft_nodes.add(node)

    def _nft_cmd(self, node: str, text: str) -> None:
        with self.inside(node):
            nft.command(text)

    # --- figures and progress ----------------------------------------------------
    def step(self, text: str) -> None:
        self.on_step(text)

    def figure(self, name: str, value: Any, unit: str = "", note: str = "") -> Any:
        """Record a measured figure for the checks and the report; returns the value."""
        self.figures[name] = Figure(name, value, unit, note)
        return value

    def chart(self, name: str, title: str, x_label: str, y_label: str,
              lines: dict[str, list[tuple[float, float]]], log: str = "") -> None:
        """A line chart for the report: one line per label, (x, y) points; ``log`` "x", "y" or "xy"."""
        self.series.append(Series(name, title, x_label, y_label, lines, log=log))

    def bars(self, name: str, title: str, y_label: str,
             values: dict[str, float] | dict[str, dict[str, float]], log: str = "") -> None:
        """A bar chart for the report: one bar per category ({category: value}), or one bar
        per group side by side in each category ({group: {category: value}})."""
        groups = values if values and isinstance(next(iter(values.values())), dict) else {y_label: values}
        categories = tuple(dict.fromkeys(c for group in groups.values() for c in group))
        lines = {g: [(i, float(group.get(c, 0))) for i, c in enumerate(categories)] for g, group in groups.items()}
        self.series.append(Series(name, title, "", y_label, lines, "bar", categories, log))

    def skip(self, reason: str) -> None:
        """Skip the whole lab: the kernel lacks what it needs."""
        raise LabSkipped(reason)

    def skip_figure(self, name: str, reason: str) -> None:
        """This figure cannot be measured here: checks on it are skipped with ``reason``."""
        self.skipped[name] = reason

    @staticmethod
    @contextlib.contextmanager
    def timer() -> Iterator[dict[str, float]]:
        """``with lab.timer() as t: ...`` then ``t["s"]`` holds the seconds the body took."""
        took: dict[str, float] = {}
        t0 = time.perf_counter()
        try:
            yield took
        finally:
            took["s"] = time.perf_counter() - t0

    # --- the end ----------------------------------------------------------------
    def close(self) -> None:
        """End every process the lab started and remove its nftables tables (signals wait)."""
        with signals.deferred():
            self._close()

    def _close(self) -> None:
        process.end_all(self._procs)
        for node in sorted(self._nft_nodes):
            with contextlib.suppress(RuntimeError):  # gone with a node that failed
                self._nft_cmd(node, f"delete table inet {LAB_TABLE}")
        self._nft_nodes.clear()
