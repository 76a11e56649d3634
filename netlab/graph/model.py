"""A picture's content: nodes, bridges and the links between them, with interface
names, addresses and state, from a topology (what a file will build) or from a
running lab (live.py: what the kernel reports). Renderers only draw this."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from netlab.resolve import Topology


@dataclass(frozen=True)
class End:
    """One side of a link: a node's interface (``bridge`` set when it is a bridge's port)."""

    node: str
    ifname: str
    addresses: tuple[str, ...] = ()
    state: str | None = None  # the kernel's operstate (live pictures only); None: not known
    bridge: str | None = None


@dataclass(frozen=True)
class Link:
    a: End
    b: End
    kind: str  # "veth" (node–node), "member" (node–bridge), "trunk" (bridge–bridge)
    note: str = ""  # impairments: "100mbit, loss 1%"
    down: bool = False  # a side is not up, or missing


@dataclass(frozen=True)
class Node:
    name: str
    kind: str = "netns"
    forwarding: bool = False
    nat: tuple[str, ...] = ()  # one line per rule: "masquerade out eth1"


@dataclass(frozen=True)
class Bridge:
    name: str
    node: str
    addresses: tuple[str, ...] = ()
    state: str | None = None


@dataclass(frozen=True)
class Graph:
    lab: str
    source: str
    nodes: tuple[Node, ...]
    bridges: tuple[Bridge, ...]
    links: tuple[Link, ...]
    hidden: dict[str, int] = field(default_factory=dict)  # bridge → hosts left out by ``summarize``


def nat_line(rule) -> str:
    """One NAT rule of the model, as the picture names it."""
    if rule.type == "masquerade":
        return f"masquerade out {rule.out}" + (f" from {rule.source}" if rule.source else "")
    if rule.type == "snat":
        return f"snat out {rule.out} to {rule.to}"
    return f"dnat {rule.in_}:{rule.port}/{rule.proto} to {rule.to}"


def from_topology(topo: Topology) -> Graph:
    """What ``topo`` will build."""
    nodes = tuple(Node(name, spec.kind, spec.forwarding, tuple(nat_line(r) for r in spec.nat))
                  for name, spec in topo.nodes.items())
    bridges = tuple(Bridge(b.name, b.node, tuple(str(a) for a in b.addresses)) for b in topo.bridges)
    links = []
    for v in topo.veths:
        a, b = (End(e.node, e.name, tuple(str(x) for x in e.addresses), bridge=e.master) for e in (v.a, v.b))
        if a.bridge and not b.bridge:
            a, b = b, a  # the node's side first
        kind = "trunk" if a.bridge and b.bridge else "member" if b.bridge else "veth"
        links.append(Link(a, b, kind, _note(v.a)))
    return Graph(topo.name, topo.source, nodes, bridges, tuple(links))


def _note(e) -> str:
    parts = [e.rate] if e.rate else []
    parts += [f"loss {e.loss}"] if e.loss else []
    parts += [f"delay {e.delay}"] if e.delay else []
    parts += [f"mtu {e.mtu}"] if e.mtu else []
    return ", ".join(parts)


def summarize(graph: Graph, keep: int = 8) -> Graph:
    """The same picture with at most ``keep`` plain hosts drawn per bridge: a plain host
    has one link, to that bridge, and neither forwards nor translates. The rest are
    counted in ``hidden`` (drawn as "… N more"), so a 10,000-node star stays readable."""
    degree: dict[str, int] = {}
    for link in graph.links:
        for end in (link.a, link.b):
            if not end.bridge:
                degree[end.node] = degree.get(end.node, 0) + 1
    plain = {n.name for n in graph.nodes if degree.get(n.name) == 1 and not n.forwarding and not n.nat}
    plain -= {b.node for b in graph.bridges}
    shown: dict[str, int] = {}
    hidden: dict[str, int] = {}
    dropped: set[str] = set()
    for link in graph.links:
        if link.kind == "member" and link.a.node in plain and not link.down:
            if shown.get(link.b.bridge, 0) >= keep:
                hidden[link.b.bridge] = hidden.get(link.b.bridge, 0) + 1
                dropped.add(link.a.node)
                continue
            shown[link.b.bridge] = shown.get(link.b.bridge, 0) + 1
    if not dropped:
        return graph
    return replace(graph, nodes=tuple(n for n in graph.nodes if n.name not in dropped),
                   links=tuple(k for k in graph.links if k.a.node not in dropped), hidden=hidden)
