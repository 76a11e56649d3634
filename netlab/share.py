"""A host's share of a lab spread over machines: the nodes placed on it, their
bridges, routes and commands, and every link with an end among them (a link whose
other end is on another host is carried by a tunnel, ``Veth.tunnel``)."""

from __future__ import annotations

import dataclasses

from netlab import hosts as placing
from netlab.errors import UsageError
from netlab.resolve import Topology


def share(topo: Topology, host: str) -> Topology:
    """What ``host`` builds of ``topo`` (UsageError: the file names no such host)."""
    if not topo.hosts:
        raise UsageError(f"{topo.source}: the file has no `hosts:`: the whole lab is built here (leave out --host)")
    if host not in topo.hosts:
        raise UsageError(f"{topo.source}: no host named {host!r} (hosts: {', '.join(sorted(topo.hosts))})")
    local = {n for n, h in topo.placement.items() if h == host}
    return dataclasses.replace(
        topo, host=host, nodes={n: s for n, s in topo.nodes.items() if n in local},
        veths=tuple(v for v in topo.veths if v.a.node in local or v.b.node in local),
        bridges=tuple(b for b in topo.bridges if b.node in local),
        routes={n: r for n, r in topo.routes.items() if n in local})


def spread(topo: Topology) -> list[str]:
    """The hosts that have nodes of ``topo``, in the file's order (empty: no `hosts:`)."""
    used = set(topo.placement.values())
    return [h for h in topo.hosts if h in used]


def summary(topo: Topology, host: str) -> str:
    """One line on a host's share: its nodes, and its tunnels to other hosts (VNI, port, MTU)."""
    nodes = sorted(n for n, h in topo.placement.items() if h == host)
    ends = [(v, e) for v in topo.veths if v.tunnel for e in (v.a, v.b) if topo.placement.get(e.node) == host]
    parts = [f"nodes {', '.join(nodes) or 'none'}"]
    if ends:
        version = topo.hosts[host].underlay.version
        links = ", ".join(f"{e.node}:{e.name} vni {v.tunnel.vni}" for v, e in ends)
        parts.append(f"{len(ends)} VXLAN tunnel(s), UDP {ends[0][0].tunnel.port}, MTU {placing.tunnel_mtu(topo.hosts)} "
                     f"unless given (underlay {placing.DEFAULT_MTU} less {placing.OVERHEAD[version]}): {links}")
    return "; ".join(parts)
