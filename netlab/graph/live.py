"""A running lab's picture, as the kernel reports it (``netlab status``'s data):
which veth joins which is read from the lab's state record; whether each end
exists, is up, carries which addresses and is a port of which bridge, from the
kernel. So a link set down, or an interface deleted behind netlab's back, shows."""

from __future__ import annotations

import ipaddress

from netlab import kinds, state
from netlab.graph.model import Bridge, End, Graph, Link, Node
from netlab.status import lab_status


def _global(addresses: list[str]) -> tuple[str, ...]:
    """Addresses worth drawing: not IPv6 link-local (every interface has one)."""
    return tuple(a for a in addresses if not ipaddress.ip_interface(a).is_link_local)


def from_lab(lab: str) -> Graph:
    """The picture of running lab ``lab``."""
    record = state.read(lab)
    view = lab_status(lab)
    kind_of = record.extra.get("kinds", {})
    node_of = {kinds.kind(k).netns(lab, node): node for node, k in kind_of.items()}
    seen = {(node, i["name"]): i for node, entry in view["nodes"].items() for i in entry.get("interfaces", [])}
    masters = {(s.args["ns"], s.args["name"]): s.args.get("master") for s in record.steps if s.op == "link.up"}
    for s in record.steps:  # a port that came up with its pair was enslaved by link.veth
        if s.op == "link.veth":
            for ns, name, master in ((s.args["ns"], s.args["name"], s.args.get("master")),
                                     (s.args["peer_ns"], s.args["peer_name"], s.args.get("peer_master"))):
                if master:
                    masters[(ns, name)] = master

    def end(ns: str | None, name: str) -> End:
        node = node_of.get(ns, str(ns))
        iface = seen.get((node, name))
        if iface is None:
            return End(node, name, state="missing", bridge=masters.get((ns, name)))
        return End(node, name, _global(iface["addresses"]), iface["state"] or "UNKNOWN", iface["master"])

    nodes = tuple(Node(node, kind_of[node], bool(entry.get("forwarding")), nat_lines(entry.get("nftables", [])))
                  for node, entry in view["nodes"].items())
    bridges = []
    for s in record.steps:
        if s.op == "link.bridge":
            node = node_of.get(s.args["ns"], str(s.args["ns"]))
            iface = seen.get((node, s.args["name"]))
            bridges.append(Bridge(s.args["name"], node, _global(iface["addresses"]) if iface else (),
                                  (iface["state"] or "UNKNOWN") if iface else "missing"))
    links = []
    for s in record.steps:
        if s.op == "link.veth":
            a, b = end(s.args["ns"], s.args["name"]), end(s.args["peer_ns"], s.args["peer_name"])
            if a.bridge and not b.bridge:
                a, b = b, a
            kind = "trunk" if a.bridge and b.bridge else "member" if b.bridge else "veth"
            links.append(Link(a, b, kind, down=any(e.state != "UP" for e in (a, b))))
    return Graph(lab, f"running, as the kernel reports it ({record.source})", nodes, tuple(bridges), tuple(links))


def nat_lines(ruleset: list[dict]) -> tuple[str, ...]:
    """Each NAT rule of an nftables JSON ruleset in a line: "masquerade out eth1 from 198.18.0.0/24"."""
    out = []
    for obj in ruleset:
        expr = obj.get("rule", {}).get("expr", [])
        found = {k: v for e in expr for k, v in e.items() if k in ("masquerade", "snat", "dnat")}
        if not found:
            continue
        what, arg = next(iter(found.items()))
        words = [what]
        for e in expr:
            m = e.get("match", {})
            left, right = m.get("left", {}), m.get("right")
            key = left.get("meta", {}).get("key") if isinstance(left, dict) else None
            if key in ("oifname", "iifname"):
                words.append(f"{'out' if key == 'oifname' else 'in'} {right}")
            elif isinstance(left, dict) and left.get("payload", {}).get("field") == "dport":
                words[-1] += f":{right}"
            elif isinstance(left, dict) and left.get("payload", {}).get("field") == "saddr" and isinstance(right, dict):
                words.append(f"from {right['prefix']['addr']}/{right['prefix']['len']}")
        if isinstance(arg, dict) and arg.get("addr"):
            words.append(f"to {arg['addr']}" + (f":{arg['port']}" if arg.get("port") else ""))
        out.append(" ".join(words))
    return tuple(out)
