"""Checks `up` makes before its first change, for what only the kernel it runs on
can tell: which sysctls a child namespace has and which values it takes, names
already taken on the real host, how many namespaces the kernel allows.

Each answer is a TopologyError at the place in the file (file:line:col: field:),
like validation's: a lab that would fail part-way is refused whole instead.
"""

from __future__ import annotations

from netlab import kinds
from netlab.backend import scratch
from netlab.errors import Problem, TopologyError
from netlab.problems import Locator
from netlab.resolve import Topology, device_of


def check(topo: Topology) -> None:
    """Raise TopologyError with every problem this machine's kernel would meet building ``topo``."""
    found = _sysctls(topo) + _host_names(topo) + _namespace_count(topo)
    if found:
        raise TopologyError(list(dict.fromkeys(found)))


def _sysctls(topo: Topology) -> list[Problem]:
    # an interface's own knob is tried on `default`: the interface does not exist yet
    tried: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for node, spec in topo.nodes.items():
        for key, value in spec.sysctls.items():
            dev = device_of(key)
            probe = key if dev is None else key.replace(f".{dev}.", ".default.", 1)
            tried.setdefault((probe, str(value)), []).append((node, key))
    refused = scratch.sysctl_refusals(tried)
    out = []
    for setting, why in refused.items():
        for node, key in tried[setting]:
            out.append(topo.problem(_written_at(topo, node, key), why))
    return out


def _written_at(topo: Topology, node: str, key: str) -> tuple:
    own = ("nodes", node, "sysctls", key)
    where = Locator(topo.source, topo.positions)
    if topo.positions is None or where.has(own) or not where.has(("defaults", "sysctls", key)):
        return own
    return ("defaults", "sysctls", key)


def _host_names(topo: Topology) -> list[Problem]:
    """A `host` node's interfaces are made in the real host's namespace: a name it already has is refused."""
    out = []
    for node, spec in topo.nodes.items():
        if not kinds.kind(spec.kind).root:
            continue
        made = {i.name: i.where for i in topo.interfaces(node)}
        bridges = {b.name for b in topo.bridges if b.node == node}
        for name in scratch.existing_links(made):
            path = ("bridges", name) if name in bridges else made[name] + ("interface",)
            out.append(topo.problem(path, f"the real host already has an interface {name!r}; choose another name"))
    return out


def _namespace_count(topo: Topology) -> list[Problem]:
    limit = scratch.max_net_namespaces()
    wanted = sum(1 for spec in topo.nodes.values() if not kinds.kind(spec.kind).root)
    if limit is None or wanted + scratch.named_namespaces() <= limit:
        return []
    return [topo.problem(("nodes",), f"{wanted:,} nodes need a network namespace each; this kernel allows "
                                     f"{limit:,} in all (user.max_net_namespaces), "
                                     f"{scratch.named_namespaces():,} of them already in use")]
