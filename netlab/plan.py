"""Turn a resolved topology into the ordered steps ``up`` will take.

Stages, in order (as containerlab deploys: nodes, then wiring, then post-deploy):
namespaces → sysctls → bridges → veth pairs → addresses → link state →
rate limits → routes → NAT → commands. ``netlab plan`` prints them ip(8)-style.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab import kinds, names, ops, share as sharing
from netlab.errors import UsageError
from netlab.resolve import Iface, Topology, Veth, device_of
from netlab.step import Step


@dataclass(frozen=True)
class Plan:
    lab: str
    source: str
    steps: tuple[Step, ...]

    def namespaces(self) -> list[str]:
        return [s.args["ns"] for s in self.steps if s.op in ("netns.create", "netns.attach")]

    def lines(self) -> list[str]:
        return [ops.describe(s) for s in self.steps]


def build(topo: Topology) -> Plan:
    """The steps that make ``topo`` real, each with its inverse. A lab spread over
    hosts is built one host's share at a time (``netlab.share``): a link with one end
    here is a VXLAN device at that end."""
    hosts = sorted(set(topo.placement.values()))
    if topo.host is None and topo.stand_ins:  # every share here, each host's tunnels from its stand-in
        shares = [build(sharing.share(topo, h)) for h in sharing.spread(topo)]
        return Plan(lab=topo.name, source=topo.source, steps=tuple(s for p in shares for s in p.steps))
    if topo.host is None and len(hosts) > 1:
        raise UsageError(f"lab {topo.name} is spread over hosts {', '.join(hosts)}: each builds its own share "
                         "(--host NAME)")
    ns = {name: kinds.kind(spec.kind).netns(topo.name, name) for name, spec in topo.nodes.items()}
    steps: list[Step] = []
    made = [s for name, spec in topo.nodes.items() for s in kinds.kind(spec.kind).create(topo.name, name, spec)]
    # every namespace first, in one batch (the backend makes them on several threads),
    # then the rest of each node's making (its mark, a container's steps) in node order
    steps += [s for s in made if s.op == "netns.create"] + [s for s in made if s.op != "netns.create"]
    for name, spec in topo.nodes.items():
        steps += _sysctls(ns[name], spec, per_device=False)
    for br in topo.bridges:
        steps.append(Step("link.bridge", {"ns": ns[br.node], "name": br.name, "mtu": br.mtu, "stp": br.stp,
                                          "alias": names.mark(topo.name, br.node)},
                          undo="link.delete", scope=ns[br.node]))
    tunnelled = [v for v in topo.veths if v.tunnel]
    late = {(name, dev) for name, spec in topo.nodes.items() for key in spec.sysctls
            if (dev := device_of(key)) is not None}
    ifaces = [e for v in topo.veths for e in (v.a, v.b) if e.node in topo.nodes]
    with_pair = {_up_with_pair(v, ns, late) for v in topo.veths if not v.tunnel} - {None}
    steps += [_veth(topo.name, ns, v, with_pair) for v in topo.veths if not v.tunnel]
    steps += [_vxlan(topo, ns, v, end) for v in tunnelled for end in (v.a, v.b) if end.node in topo.nodes]
    steps += _port_ipv6_off(topo, ns)
    for name, spec in topo.nodes.items():  # an interface's own sysctls, once it exists
        steps += _sysctls(ns[name], spec, per_device=True)
    # addresses while every link is still down: no IPv6 DAD or MLD work of the kernel's
    # (it starts when a link gets carrier) competes with them for RTNL
    addressed = [(br.node, br.name, br.addresses) for br in topo.bridges] + [(e.node, e.name, e.addresses) for e in ifaces]
    for node, dev, addrs in addressed:
        for addr in addrs:
            steps.append(Step("addr.add", {"ns": ns[node], "dev": dev, "address": str(addr)},
                              undo=None if ns[node] else "addr.delete", scope=ns[node]))
    for v in topo.veths:  # every end that did not come up with its pair, then the bridges
        for e, other in ((v.a, v.b), (v.b, v.a)):
            if e.node in topo.nodes and (e.node, e.name) not in with_pair:
                peer = {} if v.tunnel or other.node not in topo.nodes else {"peer_ns": ns[other.node],
                                                                             "peer_name": other.name}
                steps.append(Step("link.up", {"ns": ns[e.node], "name": e.name, "master": e.master, **peer},
                                  scope=ns[e.node]))
    for br in topo.bridges:
        steps.append(Step("link.up", {"ns": ns[br.node], "name": br.name}, scope=ns[br.node]))
    steps += [_tbf(ns[e.node], e) for e in ifaces if e.rate]
    steps += [Step("qdisc.netem", {"ns": ns[e.node], "dev": e.name, "delay": e.delay}, scope=ns[e.node])
              for e in ifaces if e.delay]
    steps += [Step("loss.apply", {"ns": ns[e.node], "dev": e.name, "loss": e.loss}, scope=ns[e.node])
              for e in ifaces if e.loss]
    for name, routes in topo.routes.items():
        for r in routes:
            steps.append(Step("route.add", {"ns": ns[name], "to": str(r.to), "via": r.via and str(r.via),
                                            "dev": r.dev, "metric": r.metric},
                              undo=None if ns[name] else "route.delete", scope=ns[name]))
    for name, spec in topo.nodes.items():
        if spec.nat:
            rules = [r.model_dump(by_alias=True, mode="json") for r in spec.nat]
            steps.append(Step("nat.apply", {"ns": ns[name], "table": "netlab", "rules": rules},
                              undo="nat.delete", scope=ns[name]))
    steps += _commands(topo, ns)
    return Plan(lab=topo.name, source=topo.source, steps=tuple(steps))


def _vxlan(topo: Topology, ns: dict[str, str | None], v: Veth, end: Iface) -> Step:
    """This host's end of a cross-host link: a VXLAN device to the other end's host,
    made here (its UDP socket on this host's underlay) and moved into the node."""
    other = v.b if end is v.a else v.a
    here, there = topo.hosts[topo.placement[end.node]], topo.hosts[topo.placement[other.node]]
    return Step("link.vxlan", {"ns": ns[end.node], "name": end.name, "alias": names.mark(topo.name, end.node),
                               "vni": v.tunnel.vni, "local": str(here.underlay), "remote": str(there.underlay),
                               "port": v.tunnel.port, "mac": end.mac, "mtu": end.mtu,
                               "peer": f"{topo.placement[other.node]}:{other.node}",
                               "underlay": topo.stand_ins.get(topo.placement[end.node])},
                undo="link.delete", scope=ns[end.node])


def _up_with_pair(v: Veth, ns: dict[str, str | None], late: set[tuple[str, str]]) -> tuple[str, str] | None:
    """The end of a pair that comes up in the pair's own creating message (IFF_UP on it,
    and IFLA_MASTER for a bridge port: no message of its own): a bridge port if the pair
    has one, else its first end, inside a lab namespace and without sysctls of its own
    (they must be set before it comes up). One end at most: the kernel cannot bring the
    other up in that message (see rtnl.new_veth), and with the other down it has no
    carrier yet, so the kernel's IPv6 work on it waits for the other's `link.up`."""
    ends = [e for e in (v.a, v.b) if ns[e.node] is not None and (e.node, e.name) not in late]
    e = next((e for e in ends if e.master), ends[0] if ends else None)
    return None if e is None else (e.node, e.name)


def _veth(lab: str, ns: dict[str, str | None], v, with_pair: set[tuple[str, str]]) -> Step:
    """One veth pair, both ends placed in their namespaces. One end may come up (a bridge
    port enslaved) in the same op (``with_pair``); the other comes up by `link.up` once
    the addresses are on, and the kernel's sync of both follows it. Only root-namespace ends carry netlab's alias: inside a lab
    namespace its ``lo`` carries the mark, and the namespace takes its links with it."""
    a, b = v.a, v.b
    up_a, up_b = (a.node, a.name) in with_pair, (b.node, b.name) in with_pair
    return Step("link.veth", {"ns": ns[a.node], "name": a.name, "alias": _root_mark(lab, ns[a.node], a.node),
                              "mac": a.mac, "mtu": a.mtu, "up": up_a, "master": a.master if up_a else None,
                              "peer_ns": ns[b.node], "peer_name": b.name,
                              "peer_alias": _root_mark(lab, ns[b.node], b.node), "peer_mac": b.mac,
                              "peer_mtu": b.mtu, "peer_up": up_b, "peer_master": b.master if up_b else None,
                              "tmp_name": names.host_peer_tmp(lab, a.node, a.name)},
                undo="link.delete", scope=ns[a.node] or ns[b.node])


def _root_mark(lab: str, ns: str | None, node: str) -> str | None:
    return names.mark(lab, node) if ns is None else None


def _commands(topo: Topology, ns: dict[str, str | None]) -> list[Step]:
    """Each node's `exec` commands, run the way its kind runs a command (a container's with `docker exec`)."""
    steps = []
    for name, spec in topo.nodes.items():
        for command in spec.exec:
            enter, argv = kinds.kind(spec.kind).exec_argv(topo.name, name, ["sh", "-c", command])
            steps.append(Step("exec.run", {"ns": enter, "node": name, "command": command, "argv": argv},
                              scope=ns[name]))
    return steps


def _sysctls(ns: str | None, spec, per_device: bool) -> list[Step]:
    """The node's sysctls: namespace-wide ones (and forwarding), or those of one of its interfaces."""
    values: dict[str, str] = {}
    if spec.forwarding and not per_device:
        values["net.ipv4.ip_forward"] = "1"
        values["net.ipv6.conf.all.forwarding"] = "1"
    values.update({k: str(v) for k, v in spec.sysctls.items() if (device_of(k) is not None) == per_device})
    return [Step("sysctl.set", {"ns": ns, "key": k, "value": v}, scope=ns) for k, v in values.items()]


def _port_ipv6_off(topo: Topology, ns: dict[str, str | None]) -> list[Step]:
    """IPv6 off on the bridge ports netlab makes inside lab namespaces, before they get carrier.

    A port hands every frame it receives to its bridge, never to its own stack, so its
    link-local address, routes and DAD serve nothing; but they all sit in the switch
    namespace's one IPv6 table, which the kernel walks at every port's carrier change and
    DAD completion: O(ports²), 40 % of a 10,000-host `up`. Hosts, routers and the bridge
    device keep IPv6. A node's own sysctl for the port wins (it is set after this)."""
    steps = []
    for v in topo.veths:
        for e in (v.a, v.b):
            key = f"net.ipv6.conf.{e.name}.disable_ipv6"
            if e.master and e.node in topo.nodes and ns[e.node] is not None and key not in topo.nodes[e.node].sysctls:
                steps.append(Step("sysctl.set", {"ns": ns[e.node], "key": key, "value": "1"}, scope=ns[e.node]))
    return steps


def _tbf(ns: str | None, e: Iface) -> Step:
    return Step("qdisc.tbf", {"ns": ns, "dev": e.name, "rate": e.rate}, undo=None if ns else "qdisc.delete",
                scope=ns)
