"""From the file as written to the lab as it will be: names and addresses
filled in, every cross-reference checked. Pure: no kernel, no I/O.

Errors are collected, never raised one at a time, so a user sees them all.
Each carries the path of the field it is about; the loader turns paths into
file:line:col.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netlab import hosts as placing, limits, names, trunks
from netlab.addressing import Segment, assign
from netlab.errors import Problem
from netlab.hosts import Tunnel
from netlab.model import (DEFAULT_POOLS, Endpoint, Host, Interface, NodeSpec, Route, TopologyFile, check_ifname,
                          rate_bits)
from netlab.problems import Listing, Locator, dotted as _dotted

Path = tuple
Errors = list[tuple[Path, str]]


@dataclass(frozen=True, init=False)
class Iface:
    """An interface netlab will create, in its node's namespace."""

    node: str
    name: str
    addresses: tuple[Interface, ...] = ()
    mac: str | None = None
    mtu: int | None = None
    rate: str | None = None
    loss: str | None = None
    delay: str | None = None
    master: str | None = None  # the bridge this port is enslaved to
    where: Path = ()

    def __init__(self, node: str, name: str, addresses: tuple[Interface, ...] = (), mac: str | None = None,
                 mtu: int | None = None, rate: str | None = None, loss: str | None = None, delay: str | None = None,
                 master: str | None = None, where: Path = ()):
        # the fields in one step: a frozen dataclass's own __init__ sets each through
        # object.__setattr__, 3x slower, and a 20,000-node lab makes 40,000 of these
        # (tests/unit/test_plan.py checks this matches the fields)
        vars(self).update(node=node, name=name, addresses=addresses, mac=mac, mtu=mtu, rate=rate, loss=loss,
                          delay=delay, master=master, where=where)


@dataclass(frozen=True)
class Veth:
    """A veth pair; across two hosts, a VXLAN device at each end instead (``tunnel``)."""

    a: Iface
    b: Iface
    tunnel: Tunnel | None = None


@dataclass(frozen=True)
class BridgeDev:
    node: str
    name: str
    addresses: tuple[Interface, ...]
    mtu: int | None
    stp: bool


@dataclass(frozen=True)
class Topology:
    """A lab ready to plan: every name and address decided."""

    name: str
    source: str
    nodes: dict[str, NodeSpec]
    veths: tuple[Veth, ...]
    bridges: tuple[BridgeDev, ...]
    routes: dict[str, tuple[Route, ...]] = field(default_factory=dict)
    hosts: dict[str, Host] = field(default_factory=dict)  # the machines the lab is spread over (none: this one)
    placement: dict[str, str] = field(default_factory=dict)  # node → its host (empty without hosts)
    host: str | None = None  # a host's share (netlab.share) of a lab spread over hosts: which host's
    # every host simulated on this machine: host → the namespace standing in for its own (`bench paths`' vxlan
    # path); each host's tunnels are made there, and the plan holds every share
    stand_ins: dict[str, str] = field(default_factory=dict)
    positions: Any = field(default=None, compare=False, repr=False)  # where each field is written (yamlread)

    def problem(self, path: tuple, message: str) -> Problem:
        """A problem about the field at ``path``, at its place in the file (a preflight's answer)."""
        return Locator(self.source, self.positions).problem(path, message)

    def interfaces(self, node: str) -> list[Iface]:
        return list(self._interfaces_by_node.get(node, ()))

    @functools.cached_property
    def _interfaces_by_node(self) -> dict[str, list[Iface]]:
        # built once: scanning every veth per node made resolving a 1,000-node lab quadratic
        out: dict[str, list[Iface]] = {}
        for v in self.veths:
            for e in (v.a, v.b):
                out.setdefault(e.node, []).append(e)
        for b in self.bridges:
            out.setdefault(b.node, []).append(Iface(node=b.node, name=b.name, addresses=b.addresses, mtu=b.mtu))
        return out

    def address_of(self, node: str, version: int = 4) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
        """The first address of a node (what a user means by "ping h1")."""
        for iface in self.interfaces(node):
            for addr in iface.addresses:
                if addr.version == version:
                    return addr.ip
        return None


def _endpoint_name(ep: Endpoint, used: dict[str, set[str]], next_n: dict[str, int]) -> str:
    if ep.interface:
        return ep.interface
    n = next_n.get(ep.node, 0)  # auto names only grow: start where the last one was found
    while f"eth{n}" in used.setdefault(ep.node, set()):
        n += 1
    next_n[ep.node] = n
    return f"eth{n}"


def resolve(topo: TopologyFile, nodes: dict[str, NodeSpec], source: str = "<memory>",
            positions: Any = None) -> tuple[Topology | None, Errors]:
    """(the lab with every name and address decided, or None; every problem found)."""
    errors: Errors = []
    pools = {**DEFAULT_POOLS, **topo.pools}

    known = Listing(nodes)

    def node_exists(name: str, where: Path, field: Path = ()) -> bool:
        if name not in nodes:  # the path of the field (where + field) is made only for the message
            errors.append((where + field, f"no node named {name!r} (nodes: {known})"))
            return False
        return True

    # Interface names: explicit ones first, so auto names (eth0, eth1...) fill the gaps.
    used: dict[str, set[str]] = {}
    owners: dict[tuple[str, str], Path] = {}

    def claim(node: str, ifname: str, where: Path, field: Path = ()) -> None:
        # the path of the field (where + field) is made only for a message: 40,000 were ~10 ms
        if (node, ifname) in owners:
            errors.append((where + field,
                           f"interface {node}:{ifname} is already used at {_dotted(owners[node, ifname])}"))
        owners[node, ifname] = where
        used.setdefault(node, set()).add(ifname)

    domain = trunks.domains(topo.bridges, errors)
    ports = trunks.ports(topo.bridges)
    for bname, br in topo.bridges.items():
        where = ("bridges", bname)
        try:
            check_ifname(bname)
        except ValueError as exc:
            errors.append((where, f"bridge name: {exc}"))
        if ports[bname] > limits.BRIDGE_PORTS:
            errors.append((where + ("members",), limits.bridge_ports_problem(ports[bname])))
        if node_exists(br.node, where, ("node",)):
            claim(br.node, bname, where)
    endpoints: list[tuple[Path, Endpoint]] = []
    for i, link in enumerate(topo.links):
        endpoints += [(("links", i, "endpoints", j), ep) for j, ep in enumerate(link.endpoints)]
    for bname, br in topo.bridges.items():
        endpoints += [(("bridges", bname, "members", j), ep) for j, ep in enumerate(br.members)]
    present = [(w, ep) for w, ep in endpoints if node_exists(ep.node, w, ("node",))]
    for where, ep in present:
        if ep.interface:
            claim(ep.node, ep.interface, where, ("interface",))
    ifnames: dict[Path, str] = {}
    next_n: dict[str, int] = {}
    for where, ep in present:
        ifnames[where] = ep.interface or _endpoint_name(ep, used, next_n)
        if not ep.interface:
            used[ep.node].add(ifnames[where])

    segments = _segments(topo, present, domain, errors)
    reserved = [ipaddress.ip_network(h.underlay) for h in topo.hosts.values()]
    addresses = assign(segments, pools, errors, reserved)
    placed = placing.placement(topo.hosts, nodes, errors)
    wide = _crossing_lans(topo, placed, domain)
    tunnel_mtu = placing.tunnel_mtu(topo.hosts) if placed else None
    vnis: set[int] = set()

    def tunnel(a: str, b: str, where: Path, *key: str) -> Tunnel | None:
        """The VXLAN tunnel of a veth whose ends are on two hosts (key: what it joins, in words)."""
        if a not in placed or b not in placed or placed[a] == placed[b]:
            return None  # most labs: one host, and no key to make
        return placing.tunnel(topo.name, ":".join(key), placed[a], placed[b], topo.hosts, where, vnis, errors)

    veths: list[Veth] = []
    for i, link in enumerate(topo.links):
        ends = []
        for j, ep in enumerate(link.endpoints):
            w = ("links", i, "endpoints", j)
            if w in ifnames:
                ends.append(Iface(node=ep.node, name=ifnames[w], addresses=addresses.get(w, ()), mac=ep.mac,
                                  mtu=ep.mtu or link.mtu, rate=link.rate, loss=link.loss, delay=link.delay,
                                  where=w))
        if len(ends) == 2:
            a, b = ends
            crossing = tunnel(a.node, b.node, ("links", i), "link", a.node, a.name, b.node, b.name)
            if crossing:
                a, b = (dataclasses.replace(e, mtu=e.mtu or tunnel_mtu) for e in ends)
            veths.append(Veth(a, b, crossing))
    bridges: list[BridgeDev] = []
    for bname, br in topo.bridges.items():
        if br.node not in nodes:
            continue
        bridges.append(BridgeDev(node=br.node, name=bname, addresses=addresses.get(("bridges", bname), ()),
                                 mtu=br.mtu, stp=br.stp))
        shaping = {"rate": br.rate, "loss": br.loss, "delay": br.delay}
        # a LAN with a port across hosts has one MTU, the tunnel's: a full frame from
        # a local member must fit through the remote one's port too
        lan_mtu = br.mtu or (tunnel_mtu if domain.get(bname, bname) in wide else None)
        for j, ep in enumerate(br.members):
            w = ("bridges", bname, "members", j)
            if w not in ifnames:
                continue
            mtu = ep.mtu or lan_mtu
            member = Iface(node=ep.node, name=ifnames[w], addresses=addresses.get(w, ()), mac=ep.mac,
                           mtu=mtu, where=w, **shaping)
            port = Iface(node=br.node, name=names.bridge_port(topo.name, bname, ep.node, ifnames[w]),
                         mtu=mtu, master=bname, where=w, **shaping)
            veths.append(Veth(member, port, tunnel(ep.node, br.node, w, "bridge", bname, ep.node, ifnames[w])))
    for v in _trunk_veths(topo, nodes):
        crossing = tunnel(v.a.node, v.b.node, v.a.where, "trunk", v.a.master, v.b.master)
        if crossing:
            v = Veth(*(dataclasses.replace(e, mtu=e.mtu or tunnel_mtu) for e in (v.a, v.b)), crossing)
        veths.append(v)

    result = Topology(name=topo.name, source=source, nodes=nodes, veths=tuple(veths), bridges=tuple(bridges))
    routes = _routes(topo, nodes, result, domain, errors)
    _check_nodes(result, nodes, errors)
    _check_limits(result, errors)
    if errors:
        return None, errors
    return Topology(name=topo.name, source=source, nodes=nodes, veths=result.veths, bridges=result.bridges,
                    routes=routes, hosts=dict(topo.hosts), placement=placed, positions=positions), []


def _crossing_lans(topo: TopologyFile, placed: dict[str, str], domain: dict[str, str]) -> set[str]:
    """The LANs (by their root bridge) with a member or a trunk on another host than their bridge's."""
    out = set()
    for bname, br in topo.bridges.items():
        here = placed.get(br.node)
        others = [ep.node for ep in br.members] + [topo.bridges[t].node for t in br.trunks if t in topo.bridges]
        if here and any(placed.get(n, here) != here for n in others):
            out.add(domain.get(bname, bname))
    return out


def _trunk_veths(topo: TopologyFile, nodes: dict[str, NodeSpec]) -> list[Veth]:
    """A veth per trunk, each end a port of one of the two bridges (names.trunk_port)."""
    out = []
    for bname, br in topo.bridges.items():
        for k, other in enumerate(br.trunks):
            peer = topo.bridges.get(other)
            if peer is None or other == bname or br.node not in nodes or peer.node not in nodes:
                continue
            where = ("bridges", bname, "trunks", k)
            out.append(Veth(Iface(node=br.node, name=names.trunk_port(topo.name, bname, other), master=bname,
                                  mtu=br.mtu, where=where),
                            Iface(node=peer.node, name=names.trunk_port(topo.name, other, bname), master=other,
                                  mtu=peer.mtu, where=where)))
    return out


def _segments(topo: TopologyFile, present: list[tuple[Path, Endpoint]], domain: dict[str, str],
              errors: Errors) -> list[Segment]:
    """One segment per link, and one per LAN: a bridge with the bridges trunked to it."""
    wanted = {w for w, _ in present}
    segs = []
    for i, link in enumerate(topo.links):
        slots = [(("links", i, "endpoints", j), ep.address) for j, ep in enumerate(link.endpoints)
                 if ("links", i, "endpoints", j) in wanted]
        segs.append(Segment(("links", i), link.pool, link.subnet, slots))
    lans: dict[str, Segment] = {}
    for bname, br in topo.bridges.items():
        root = domain.get(bname, bname)
        seg = lans.setdefault(root, Segment(("bridges", root), br.pool, br.subnet, []))
        if br.subnet is not None and seg.subnet is None:
            seg.subnet = br.subnet
        elif br.subnet is not None and br.subnet != seg.subnet:
            errors.append((("bridges", bname, "subnet"), f"{bname} is trunked to {root}, whose LAN is {seg.subnet}: "
                                                         "one LAN has one subnet"))
        seg.slots.append((("bridges", bname), br.address))
        seg.slots += [(("bridges", bname, "members", j), ep.address) for j, ep in enumerate(br.members)
                      if ("bridges", bname, "members", j) in wanted]
    return segs + list(lans.values())


def _routes(topo: TopologyFile, nodes: dict[str, NodeSpec], result: Topology, domain: dict[str, str],
            errors: Errors) -> dict:
    """Each node's routes: its own, plus a default via each gateway bridge on its LAN
    (a member of a bridge trunked to the gateway's counts too)."""
    routes: dict[str, tuple[Route, ...]] = {}
    gateways: dict[str, list[Route]] = {}
    by_name = {(b.name, b.node): b for b in result.bridges}
    for bname, br in topo.bridges.items():
        if not br.gateway:
            continue
        bdev = by_name.get((bname, br.node))
        lan = trunks.members_of(domain.get(bname, bname), topo.bridges, domain) or [bname]
        for addr in (bdev.addresses if bdev else ()):
            for ep in (ep for b in lan for ep in topo.bridges[b].members):
                gateways.setdefault(ep.node, []).append(Route(to="default", via=addr.ip))
    for name, spec in nodes.items():
        routes[name] = _with_gateways(spec.routes, gateways.get(name, ()))
        if not spec.routes:  # most nodes: nothing of their own to check
            continue
        connected = [a.network for i in result.interfaces(name) for a in i.addresses]
        on_subnet = _on_any(connected)
        ifaces = {i.name for i in result.interfaces(name)} | {"lo"}
        defaults: set[int] = set()
        nets, has = Listing((str(n) for n in connected), sort=False), Listing(ifaces)
        for k, r in enumerate(spec.routes):
            where = ("nodes", name, "routes", k)
            if r.via is not None and not on_subnet(r.via):
                errors.append((where + ("via",), f"gateway {r.via} is not on a subnet of {name} (its subnets: {nets})"))
            if r.dev is not None and r.dev not in ifaces:
                errors.append((where + ("dev",), f"{name} has no interface {r.dev!r} (it has: {has})"))
            if r.to == "default":
                if _family(r) in defaults:
                    errors.append((where + ("to",), "a second default route for the same address family"))
                defaults.add(_family(r))
    return routes


def _on_any(networks: list) -> Callable[[Any], bool]:
    """Whether an address is on one of ``networks``: a set of network numbers per prefix
    length (a router with 5,000 links and 5,000 routes took 30 s asking each network)."""
    by_length: dict[tuple[int, int], set[int]] = {}
    for net in networks:
        by_length.setdefault((net.version, net.prefixlen), set()).add(int(net.network_address))

    def on(address: Any) -> bool:
        bits, number = address.max_prefixlen, int(address)
        return any(number >> (bits - plen) << (bits - plen) in numbers
                   for (version, plen), numbers in by_length.items() if version == address.version)
    return on


def _with_gateways(own: tuple[Route, ...], gateways) -> tuple[Route, ...]:
    """A node's own routes, and a default via its LANs' first gateway of each address
    family it has no default route for."""
    out = list(own)
    families = {_family(r) for r in own if r.to == "default"}
    for r in gateways:
        if _family(r) not in families:
            out.append(r)
            families.add(_family(r))
    return tuple(out)


def _family(route: Route) -> int:
    if route.to != "default":
        return route.to.version
    return route.via.version if route.via is not None else 4


def _check_nodes(result: Topology, nodes: dict[str, NodeSpec], errors: Errors) -> None:
    for name, spec in nodes.items():
        if not spec.nat:
            continue
        ifaces = {i.name for i in result.interfaces(name)}
        has = Listing(ifaces)
        for k, rule in enumerate(spec.nat):
            dev = rule.in_ if rule.type == "dnat" else rule.out
            key = "in" if rule.type == "dnat" else "out"
            if dev not in ifaces:
                errors.append((("nodes", name, "nat", k, key), f"{name} has no interface {dev!r} (it has: {has})"))


# net.ipv4.conf.eth0.rp_filter, net.ipv6.neigh.eth1.base_reachable_time_ms: a knob of one interface
DEVICE_SYSCTL = re.compile(r"^net\.ipv[46]\.(conf|neigh)\.([^.]+)\.[^.]+$")
SYSCTL_DEVICES = {"all", "default", "lo"}  # in every namespace before any interface is made


def device_of(key: str) -> str | None:
    """The interface a sysctl is about (None for a namespace-wide one, or all/default/lo)."""
    m = DEVICE_SYSCTL.match(key)
    return m.group(2) if m and m.group(2) not in SYSCTL_DEVICES else None


def _check_limits(result: Topology, errors: Errors) -> None:
    """What the kernel would refuse part-way through `up` (see netlab.limits)."""
    for name, spec in result.nodes.items():
        if not spec.sysctls:
            continue
        ifaces = {i.name for i in result.interfaces(name)}
        has = Listing(ifaces)
        for key in spec.sysctls:
            dev = device_of(key)
            if dev is not None and dev not in ifaces:
                errors.append((("nodes", name, "sysctls", key), f"{name} has no interface {dev!r} (it has: {has})"))
    for br in result.bridges:
        if br.mtu is not None and br.mtu < limits.IPV6_MIN_MTU and any(a.version == 6 for a in br.addresses):
            errors.append((("bridges", br.name, "mtu"), limits.ipv6_mtu_problem(br.mtu)))
    for veth in result.veths:
        for iface in (veth.a, veth.b):
            mtu = iface.mtu or 1500
            if mtu < limits.IPV6_MIN_MTU and any(a.version == 6 for a in iface.addresses):
                errors.append((iface.where + ("address",), limits.ipv6_mtu_problem(mtu)))
            if iface.rate:
                why = limits.bucket_problem(rate_bits(iface.rate), iface.rate, mtu)
                if why:
                    errors.append((iface.where[:2] + ("rate",), why))
