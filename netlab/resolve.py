"""From the file as written to the lab as it will be: names and addresses
filled in, every cross-reference checked. Pure: no kernel, no I/O.

Errors are collected, never raised one at a time, so a user sees them all.
Each carries the path of the field it is about; the loader turns paths into
file:line:col.
"""

from __future__ import annotations

import functools
import ipaddress
from dataclasses import dataclass, field

from netlab import names, trunks
from netlab.model import DEFAULT_POOLS, Endpoint, Interface, NodeSpec, Pool, Route, TopologyFile

Path = tuple
Errors = list[tuple[Path, str]]


@dataclass(frozen=True)
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


@dataclass(frozen=True)
class Veth:
    a: Iface
    b: Iface


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


@dataclass
class _Segment:
    """A broadcast domain (one link, or one bridge with its members) being addressed."""

    where: Path
    pool: str
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    slots: list  # [(path, explicit addresses or None for auto)]


class _Allocator:
    """Hands out each pool's subnets in order, never over an explicit network or
    another pool's allocation. The i-th subnet is computed, not enumerated, and a
    pool's own earlier subnets are not re-checked: allocating stays linear."""

    def __init__(self, pools: dict[str, Pool], taken: list):
        self.pools = pools
        self.taken = taken  # explicit networks anywhere in the file: never allocate over them
        self.next: dict[tuple[str, int], int] = {}
        self.given: dict[tuple[str, int], tuple[object, list]] = {}  # key → (pool base, subnets handed out)

    def subnet(self, pool_name: str, version: int):
        pool = self.pools[pool_name]
        base, plen = (pool.ipv4, pool.prefix) if version == 4 else (pool.ipv6, pool.prefix6)
        if base is None:
            return None
        key = (pool_name, version)
        if plen < base.prefixlen:
            raise ValueError(f"pool {pool_name!r} ({base}) cannot be cut into /{plen}")
        first, size = int(base.network_address), 1 << (base.max_prefixlen - plen)
        for i in range(self.next.get(key, 0), 1 << (plen - base.prefixlen)):
            net = ipaddress.ip_network((first + i * size, plen))
            if self._free(net, key):
                self.next[key] = i + 1
                self.given.setdefault(key, (base, []))[1].append(net)
                return net
        raise ValueError(f"pool {pool_name!r} ({base}) has no /{plen} left")

    def _free(self, net, key: tuple[str, int]) -> bool:
        if any(net.overlaps(t) for t in self.taken):
            return False
        return not any(net.overlaps(g) for k, (base, nets) in self.given.items()
                       if k != key and base.overlaps(net) for g in nets)


def _endpoint_name(ep: Endpoint, used: dict[str, set[str]]) -> str:
    if ep.interface:
        return ep.interface
    n = 0
    while f"eth{n}" in used.setdefault(ep.node, set()):
        n += 1
    return f"eth{n}"


def resolve(topo: TopologyFile, nodes: dict[str, NodeSpec], source: str = "<memory>") -> tuple[Topology | None, Errors]:
    errors: Errors = []
    pools = {**DEFAULT_POOLS, **topo.pools}

    def node_exists(name: str, where: Path) -> bool:
        if name not in nodes:
            known = ", ".join(sorted(nodes)) or "none"
            errors.append((where, f"no node named {name!r} (nodes: {known})"))
            return False
        return True

    # Interface names: explicit ones first, so auto names (eth0, eth1...) fill the gaps.
    used: dict[str, set[str]] = {}
    owners: dict[tuple[str, str], Path] = {}

    def claim(node: str, ifname: str, where: Path) -> None:
        if (node, ifname) in owners:
            errors.append((where, f"interface {node}:{ifname} is already used at {_dotted(owners[node, ifname])}"))
        owners[node, ifname] = where
        used.setdefault(node, set()).add(ifname)

    domain = trunks.domains(topo.bridges, errors)
    for bname, br in topo.bridges.items():
        where = ("bridges", bname)
        if len(bname) > names.IFNAMSIZ or not names.IFNAME.match(bname):
            errors.append((where, f"bridge name {bname!r} must be an interface name of at most 15 characters"))
        if node_exists(br.node, where + ("node",)):
            claim(br.node, bname, where)
    endpoints: list[tuple[Path, Endpoint]] = []
    for i, link in enumerate(topo.links):
        endpoints += [(("links", i, "endpoints", j), ep) for j, ep in enumerate(link.endpoints)]
    for bname, br in topo.bridges.items():
        endpoints += [(("bridges", bname, "members", j), ep) for j, ep in enumerate(br.members)]
    present = [(w, ep) for w, ep in endpoints if node_exists(ep.node, w + ("node",))]
    for where, ep in present:
        if ep.interface:
            claim(ep.node, ep.interface, where + ("interface",))
    ifnames: dict[Path, str] = {}
    for where, ep in present:
        ifnames[where] = ep.interface or _endpoint_name(ep, used)
        if not ep.interface:
            used[ep.node].add(ifnames[where])

    segments = _segments(topo, present, domain, errors)
    addresses = _assign(segments, pools, errors)

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
            veths.append(Veth(*ends))
    bridges: list[BridgeDev] = []
    for bname, br in topo.bridges.items():
        if br.node not in nodes:
            continue
        bridges.append(BridgeDev(node=br.node, name=bname, addresses=addresses.get(("bridges", bname), ()),
                                 mtu=br.mtu, stp=br.stp))
        for j, ep in enumerate(br.members):
            w = ("bridges", bname, "members", j)
            if w not in ifnames:
                continue
            shaping = {"rate": br.rate, "loss": br.loss, "delay": br.delay}
            member = Iface(node=ep.node, name=ifnames[w], addresses=addresses.get(w, ()), mac=ep.mac,
                           mtu=ep.mtu or br.mtu, where=w, **shaping)
            port = Iface(node=br.node, name=names.bridge_port(topo.name, bname, ep.node, ifnames[w]),
                         mtu=ep.mtu or br.mtu, master=bname, where=w, **shaping)
            veths.append(Veth(member, port))
    veths += _trunk_veths(topo, nodes)

    result = Topology(name=topo.name, source=source, nodes=nodes, veths=tuple(veths), bridges=tuple(bridges))
    routes = _routes(topo, nodes, result, domain, errors)
    _check_nodes(result, nodes, errors)
    if errors:
        return None, errors
    return Topology(name=topo.name, source=source, nodes=nodes, veths=result.veths, bridges=result.bridges,
                    routes=routes), []


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
              errors: Errors) -> list[_Segment]:
    """One segment per link, and one per LAN: a bridge with the bridges trunked to it."""
    wanted = {w for w, _ in present}
    segs = []
    for i, link in enumerate(topo.links):
        slots = [(("links", i, "endpoints", j), ep.address) for j, ep in enumerate(link.endpoints)
                 if ("links", i, "endpoints", j) in wanted]
        segs.append(_Segment(("links", i), link.pool, link.subnet, slots))
    lans: dict[str, _Segment] = {}
    for bname, br in topo.bridges.items():
        root = domain.get(bname, bname)
        seg = lans.setdefault(root, _Segment(("bridges", root), br.pool, br.subnet, []))
        if br.subnet is not None and seg.subnet is None:
            seg.subnet = br.subnet
        elif br.subnet is not None and br.subnet != seg.subnet:
            errors.append((("bridges", bname, "subnet"), f"{bname} is trunked to {root}, whose LAN is {seg.subnet}: "
                                                         "one LAN has one subnet"))
        seg.slots.append((("bridges", bname), br.address))
        seg.slots += [(("bridges", bname, "members", j), ep.address) for j, ep in enumerate(br.members)
                      if ("bridges", bname, "members", j) in wanted]
    return segs + list(lans.values())


def _assign(segments: list[_Segment], pools: dict[str, Pool], errors: Errors) -> dict[Path, tuple]:
    """Explicit addresses kept, automatic ones drawn from each segment's subnet."""
    seen: dict = {}
    nets: list[tuple] = []
    for seg in segments:
        if seg.pool not in pools:
            errors.append((seg.where + ("pool",), f"no pool named {seg.pool!r} (pools: {', '.join(sorted(pools))})"))
        seg_nets = {a.network for _, addrs in seg.slots for a in (addrs or ())}
        if seg.subnet:
            seg_nets.add(seg.subnet)
        for where, addrs in seg.slots:
            for a in addrs or ():
                if a.ip in seen:
                    errors.append((where + ("address",), f"{a.ip} is already given to {_dotted(seen[a.ip])}"))
                seen[a.ip] = where
                if seg.subnet and a.version == seg.subnet.version and a not in seg.subnet:
                    errors.append((where + ("address",), f"{a} is outside the segment's subnet {seg.subnet}"))
        for net in seg_nets:
            for other, other_where in nets:
                if net.version == other.version and net.overlaps(other) and other_where != seg.where:
                    errors.append((seg.where, f"{net} overlaps {other} used by {_dotted(other_where)}"))
            nets.append((net, seg.where))
    alloc = _Allocator(pools, [n for n, _ in nets])
    out: dict[Path, tuple] = {}
    for seg in segments:
        auto = [w for w, addrs in seg.slots if addrs is None]
        for where, addrs in seg.slots:
            out[where] = tuple(addrs or ())
        if not auto or seg.pool not in pools:
            continue
        for version in (4, 6):
            subnet = _segment_subnet(seg, version, alloc, errors)
            if subnet is None:
                continue
            free = (h for h in subnet.hosts() if h not in seen)
            for where in auto:
                host = next(free, None)
                if host is None:
                    errors.append((seg.where, f"subnet {subnet} has no free address left for {_dotted(where)}"))
                    break
                seen[host] = where
                out[where] += (ipaddress.ip_interface(f"{host}/{subnet.prefixlen}"),)
    return out


def _segment_subnet(seg: _Segment, version: int, alloc: _Allocator, errors: Errors):
    if seg.subnet is not None and seg.subnet.version == version:
        return seg.subnet
    explicit = [a.network for _, addrs in seg.slots for a in (addrs or ()) if a.version == version]
    if explicit:
        return explicit[0]
    try:
        return alloc.subnet(seg.pool, version)
    except ValueError as exc:
        errors.append((seg.where, str(exc)))
        return None


def _routes(topo: TopologyFile, nodes: dict[str, NodeSpec], result: Topology, domain: dict[str, str],
            errors: Errors) -> dict:
    """Each node's routes: its own, plus a default via each gateway bridge on its LAN
    (a member of a bridge trunked to the gateway's counts too)."""
    routes: dict[str, tuple[Route, ...]] = {}
    gateways: dict[str, list[Route]] = {}
    for bname, br in topo.bridges.items():
        if not br.gateway:
            continue
        bdev = next((b for b in result.bridges if b.name == bname and b.node == br.node), None)
        lan = trunks.members_of(domain.get(bname, bname), topo.bridges, domain) or [bname]
        for addr in (bdev.addresses if bdev else ()):
            for ep in (ep for b in lan for ep in topo.bridges[b].members):
                gateways.setdefault(ep.node, []).append(Route(to="default", via=addr.ip))
    for name, spec in nodes.items():
        own = list(spec.routes)
        families = {_family(r) for r in own if r.to == "default"}
        for r in gateways.get(name, []):
            if _family(r) not in families:
                own.append(r)
                families.add(_family(r))
        connected = [a.network for i in result.interfaces(name) for a in i.addresses]
        ifaces = {i.name for i in result.interfaces(name)}
        defaults: set[int] = set()
        for k, r in enumerate(spec.routes):
            where = ("nodes", name, "routes", k)
            if r.via is not None and not any(r.via in n for n in connected):
                nets = ", ".join(str(n) for n in connected) or "none"
                errors.append((where + ("via",), f"gateway {r.via} is not on a subnet of {name} (its subnets: {nets})"))
            if r.dev is not None and r.dev not in ifaces:
                errors.append((where + ("dev",), f"{name} has no interface {r.dev!r} (it has: {', '.join(sorted(ifaces))})"))
            if r.to == "default":
                if _family(r) in defaults:
                    errors.append((where + ("to",), "a second default route for the same address family"))
                defaults.add(_family(r))
        routes[name] = tuple(own)
    return routes


def _family(route: Route) -> int:
    if route.to != "default":
        return route.to.version
    return route.via.version if route.via is not None else 4


def _check_nodes(result: Topology, nodes: dict[str, NodeSpec], errors: Errors) -> None:
    for name, spec in nodes.items():
        ifaces = {i.name for i in result.interfaces(name)}
        for k, rule in enumerate(spec.nat):
            dev = rule.in_ if rule.type == "dnat" else rule.out
            key = "in" if rule.type == "dnat" else "out"
            if dev not in ifaces:
                errors.append((("nodes", name, "nat", k, key),
                               f"{name} has no interface {dev!r} (it has: {', '.join(sorted(ifaces)) or 'none'})"))


def _dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out
