"""Routed shapes: linear (a chain of routers, each with a LAN) and clos (leaf–spine).

Every router forwards and has a static route to every LAN it is not on; every
host has a default route via its router's address on its LAN, so every host
reaches every other. Addresses are planned here (addressing.py), not left to
the pools, because the routes must name them.
"""

from __future__ import annotations

from netlab.generate import lan
from netlab.generate.addressing import LAN_SPACE, GenerateError, carve, host, p2p, prefix_for

MAX_HOPS = 62  # a ping starts with TTL 64: a chain of routers longer than this never answers


def linear(routers: int, hosts_per_router: int = 1, name: str = "linear") -> dict:
    """Routers r1..rN in a chain (ri:eth1 — r(i+1):eth0), each owning a LAN ``lanI``
    with hosts hI-1..hI-M; static routes along the chain."""
    _range(routers, 1, MAX_HOPS, "routers", f"a ping crosses at most {MAX_HOPS} routers before its TTL runs out")
    _range(hosts_per_router, 1, None, "hosts-per-router")
    lans = carve(LAN_SPACE, routers, prefix_for(hosts_per_router + 1), f"{routers} LANs of {hosts_per_router} hosts")
    wires = p2p(routers - 1, f"{routers - 1} router links")
    nodes: dict = {}
    bridges: dict = {}
    for i in range(1, routers + 1):
        _router_with_lan(nodes, bridges, f"r{i}", i, hosts_per_router, lans[i - 1])
    links = [{"endpoints": [{"node": f"r{i}", "interface": "eth1", "address": host(wires[i - 1], 1)},
                            {"node": f"r{i + 1}", "interface": "eth0", "address": host(wires[i - 1], 2)}]}
             for i in range(1, routers)]
    for i in range(1, routers + 1):
        for j in range(1, routers + 1):
            if j != i:  # towards LAN j: left neighbour's eth1, or right neighbour's eth0
                via = wires[i - 2][1] if j < i else wires[i - 1][2]
                nodes[f"r{i}"]["routes"].append({"to": str(lans[j - 1]), "via": str(via)})
    _drop_empty(nodes)
    return {"name": name, "nodes": nodes, "bridges": bridges, "links": links}


def clos(spines: int, leaves: int, hosts_per_leaf: int = 1, name: str = "clos") -> dict:
    """Spines s1..sS and leaves l1..lL, every leaf wired to every spine (lI:ethK —
    sK:ethI), each leaf owning a LAN ``lanI`` with hosts hI-1..hI-M. Traffic from leaf
    i to leaf m crosses spine (i + m) mod S, both ways: static routes spread over the
    spines, as ECMP would on average, and symmetric."""
    _range(spines, 1, None, "spines")
    _range(leaves, 1, None, "leaves")
    _range(hosts_per_leaf, 1, None, "hosts-per-leaf")
    lans = carve(LAN_SPACE, leaves, prefix_for(hosts_per_leaf + 1), f"{leaves} LANs of {hosts_per_leaf} hosts")
    wires = p2p(leaves * spines, f"{leaves * spines} leaf–spine links")

    def wire(i: int, k: int):  # the subnet of leaf i's link to spine k (1-based)
        return wires[(i - 1) * spines + (k - 1)]

    nodes: dict = {f"s{k}": {"forwarding": True, "routes": []} for k in range(1, spines + 1)}
    bridges: dict = {}
    links = []
    for i in range(1, leaves + 1):
        _router_with_lan(nodes, bridges, f"l{i}", i, hosts_per_leaf, lans[i - 1])
        for k in range(1, spines + 1):
            links.append({"endpoints": [{"node": f"l{i}", "interface": f"eth{k}", "address": host(wire(i, k), 1)},
                                        {"node": f"s{k}", "interface": f"eth{i}", "address": host(wire(i, k), 2)}]})
            nodes[f"s{k}"]["routes"].append({"to": str(lans[i - 1]), "via": str(wire(i, k)[1])})
    for i in range(1, leaves + 1):
        for m in range(1, leaves + 1):
            if m != i:
                k = (i + m) % spines + 1
                nodes[f"l{i}"]["routes"].append({"to": str(lans[m - 1]), "via": str(wire(i, k)[2])})
    _drop_empty(nodes)
    return {"name": name, "nodes": nodes, "bridges": bridges, "links": links}


def _router_with_lan(nodes: dict, bridges: dict, router: str, i: int, hosts: int, subnet) -> None:
    """Router ``router`` (forwarding, routes to come) owning LAN ``lanI`` of hosts hI-1..hI-M,
    its first address their gateway."""
    nodes[router] = {"forwarding": True, "routes": []}
    names = [f"h{i}-{j}" for j in range(1, hosts + 1)]
    nodes.update({h: {} for h in names})
    bridges.update(lan.bridges(router, [f"{h}:eth0" for h in names], str(subnet), host(subnet, 1), _lan_name(i)))


def _lan_name(router: int):
    """Bridges of router i's LAN: ``lanI``, and ``lanI-1``... trunked to it past 500 hosts."""
    return lambda k: f"lan{router}" if k == 0 else f"lan{router}-{k}"


def _drop_empty(nodes: dict) -> None:
    for body in nodes.values():
        if body.get("routes") == []:
            del body["routes"]


def _range(value: int, least: int, most: int | None, what: str, why: str = "") -> None:
    if value < least or (most is not None and value > most):
        bound = f"from {least} to {most}" if most is not None else f"at least {least}"
        raise GenerateError(f"--{what} must be {bound} (got {value}){': ' + why if why else ''}")
