"""The simple shapes: star (hosts on one LAN) and tree (bridges in a tree, hosts at the leaves).

Each returns a topology as plain data (the file's mapping), as Mininet's
``--topo single,N`` and ``tree,depth,fanout`` would build it.
"""

from __future__ import annotations

from netlab.generate import lan
from netlab.generate.addressing import ALL_SPACE, GenerateError, carve, prefix_for


def star(hosts: int, name: str = "star") -> dict:
    """``hosts`` hosts h1..hN on one LAN in a switch node ``sw`` (bridges joined by trunks past 500)."""
    _at_least(hosts, 1, "hosts")
    members = [f"h{i}:eth0" for i in range(1, hosts + 1)]
    (subnet,) = carve(ALL_SPACE, 1, prefix_for(hosts), f"a LAN of {hosts} hosts")
    nodes: dict = {"sw": {}, **{f"h{i}": {} for i in range(1, hosts + 1)}}
    return {"name": name, "nodes": nodes, "bridges": lan.bridges("sw", members, str(subnet))}


def tree(depth: int, fanout: int, name: str = "tree", hosts: int | None = None) -> dict:
    """Switches s1.. in a tree ``depth`` levels deep, ``fanout`` children each (breadth
    first, s1 the root), each its own node holding a bridge of the same name trunked to
    its parent's; fanout**depth hosts h1.. on the leaf switches (or the first ``hosts``
    of them, switches left without hosts below them dropped). One LAN, one subnet."""
    _at_least(depth, 1, "depth")
    _at_least(fanout, 1, "fanout")
    ports = fanout + (1 if depth > 1 else 0)  # its children, and a trunk to its parent
    if ports > lan.BRIDGE_PORTS:
        raise GenerateError(f"fanout {fanout}: a switch would need {ports} ports; a Linux bridge holds "
                            f"at most {lan.BRIDGE_PORTS}")
    full = fanout ** depth
    hosts = full if hosts is None else min(hosts, full)
    if hosts + 2 > ALL_SPACE.num_addresses:
        raise GenerateError(f"depth {depth}, fanout {fanout}: {hosts:,} hosts do not fit in {ALL_SPACE}")
    (subnet,) = carve(ALL_SPACE, 1, prefix_for(hosts), f"a tree of {hosts} hosts")
    parent = {"s1": None}
    level = ["s1"]
    for _ in range(depth - 1):
        level = [_child(parent, p) for p in level for _ in range(fanout)]
    members: dict[str, list[str]] = {}
    for n in range(1, hosts + 1):
        members.setdefault(level[(n - 1) // fanout], []).append(f"h{n}:eth0")
    used = set()
    for leaf in members:
        while leaf and leaf not in used:
            used.add(leaf)
            leaf = parent[leaf]
    nodes: dict = {sw: {} for sw in parent if sw in used}
    nodes.update({f"h{n}": {} for n in range(1, hosts + 1)})
    bridges: dict = {}
    for sw in nodes:
        if sw in used:
            body: dict = {"node": sw, "subnet": str(subnet)} if parent[sw] is None else {"node": sw,
                                                                                       "trunks": [parent[sw]]}
            if sw in members:
                body["members"] = members[sw]
            bridges[sw] = body
    return {"name": name, "nodes": nodes, "bridges": bridges}


def _child(parent: dict, of: str) -> str:
    name = f"s{len(parent) + 1}"
    parent[name] = of
    return name


def _at_least(value: int, least: int, what: str) -> None:
    if value < least:
        raise GenerateError(f"--{what} must be at least {least} (got {value})")
