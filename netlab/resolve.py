"""From the file as written to the lab as it will be: names and addresses
filled in, every cross-reference checked. Pure: no kernel, no I/O.

Errors are collected, never raised one at a time, so a user sees them all.
Each carries the path of the field it is about; the loader turns paths into
file:line:col.
"""

from __future__ import annotations

import bisect
import functools
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from netlab import limits, names
from netlab.errors import Problem
from netlab.model import DEFAULT_POOLS, Endpoint, Interface, NodeSpec, Pool, Route, TopologyFile, check_ifname, rate_bits
from netlab.problems import Locator, dotted as _dotted

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
        # explicit networks anywhere in the file are never allocated over; nor is one
        # pool's subnet given again by another (all of them disjoint: the allocator's work)
        self.taken = {v: _Intervals((int(n.network_address), int(n.broadcast_address)) for n in taken
                                    if n.version == v) for v in (4, 6)}
        self.next: dict[tuple[str, int], int] = {}
        self.given = {4: _Intervals(), 6: _Intervals()}

    def subnet(self, pool_name: str, version: int):
        pool = self.pools[pool_name]
        base, plen = (pool.ipv4, pool.prefix) if version == 4 else (pool.ipv6, pool.prefix6)
        if base is None:
            return None
        key = (pool_name, version)
        if plen < base.prefixlen:
            raise ValueError(f"pool {pool_name!r} ({base}) cannot be cut into /{plen}")
        first, size = int(base.network_address), 1 << (base.max_prefixlen - plen)
        taken, given = self.taken[version], self.given[version]
        i, count = self.next.get(key, 0), 1 << (plen - base.prefixlen)
        while i < count:
            lo = first + i * size
            hi = lo + size - 1
            # over something taken: skip past it, not one subnet at a time (a /128 pool
            # under an explicit /32 would otherwise be counted through for ever)
            clash = taken.clash(lo, hi)
            clash = given.clash(lo, hi) if clash is None else clash
            if clash is not None:
                i = (clash - first) // size + 1
                continue
            self.next[key] = i + 1
            given.add(lo, hi)
            return ipaddress.ip_network((lo, plen))
        raise ValueError(f"pool {pool_name!r} ({base}) has no /{plen} left")


class _Intervals:
    """Disjoint address ranges of one family, sorted, to ask "does [lo, hi] meet one?"
    in log time. CIDR networks never partly overlap (two either nest or are apart),
    so keeping only the outermost of nested ones loses nothing."""

    def __init__(self, ranges=()):
        self.starts: list[int] = []
        self.ends: list[int] = []
        for lo, hi in sorted(ranges, key=lambda r: (r[0], -r[1])):
            if not self.ends or lo > self.ends[-1]:
                self.starts.append(lo)
                self.ends.append(hi)

    def add(self, lo: int, hi: int) -> None:
        """Add a range that meets none already in (the allocator's own subnets)."""
        at = bisect.bisect_left(self.starts, lo)
        self.starts.insert(at, lo)
        self.ends.insert(at, hi)

    def clash(self, lo: int, hi: int) -> int | None:
        """The last address of a range meeting [lo, hi], or None."""
        at = bisect.bisect_right(self.starts, hi) - 1  # the range starting last at or before hi
        return self.ends[at] if at >= 0 and self.ends[at] >= lo else None


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

    for bname, br in topo.bridges.items():
        where = ("bridges", bname)
        try:
            check_ifname(bname)
        except ValueError as exc:
            errors.append((where, f"bridge name: {exc}"))
        if len(br.members) > limits.BRIDGE_PORTS:
            errors.append((where + ("members",), limits.bridge_ports_problem(len(br.members))))
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
    next_n: dict[str, int] = {}
    for where, ep in present:
        ifnames[where] = ep.interface or _endpoint_name(ep, used, next_n)
        if not ep.interface:
            used[ep.node].add(ifnames[where])

    segments = _segments(topo, present)
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

    result = Topology(name=topo.name, source=source, nodes=nodes, veths=tuple(veths), bridges=tuple(bridges))
    routes = _routes(topo, nodes, result, errors)
    _check_nodes(result, nodes, errors)
    _check_limits(result, errors)
    if errors:
        return None, errors
    return Topology(name=topo.name, source=source, nodes=nodes, veths=result.veths, bridges=result.bridges,
                    routes=routes, positions=positions), []


def _segments(topo: TopologyFile, present: list[tuple[Path, Endpoint]]) -> list[_Segment]:
    wanted = {w for w, _ in present}
    segs = []
    for i, link in enumerate(topo.links):
        slots = [(("links", i, "endpoints", j), ep.address) for j, ep in enumerate(link.endpoints)
                 if ("links", i, "endpoints", j) in wanted]
        segs.append(_Segment(("links", i), link.pool, link.subnet, slots))
    for bname, br in topo.bridges.items():
        slots = [(("bridges", bname), br.address)]
        slots += [(("bridges", bname, "members", j), ep.address) for j, ep in enumerate(br.members)
                  if ("bridges", bname, "members", j) in wanted]
        segs.append(_Segment(("bridges", bname), br.pool, br.subnet, slots))
    return segs


def _assign(segments: list[_Segment], pools: dict[str, Pool], errors: Errors) -> dict[Path, tuple]:
    """Explicit addresses kept, automatic ones drawn from each segment's subnet."""
    seen: dict = {}
    nets: list[tuple] = []  # (network, index of its segment)
    for k, seg in enumerate(segments):
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
        nets += [(net, k) for net in sorted(seg_nets, key=_net_key)]
    errors += _overlaps(nets, segments)
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


def _net_key(net) -> tuple:
    return net.version, int(net.network_address), net.prefixlen


def _overlaps(nets: list[tuple], segments: list[_Segment]) -> Errors:
    """Networks of different segments that overlap, each segment's first clash once
    (sorted sweep: CIDR networks that overlap nest, so the ones still open contain the next)."""
    out: Errors = []
    reported: set[int] = set()
    open_: list[tuple] = []  # (version, last address, network, segment index)
    for net, k in sorted(nets, key=lambda t: (_net_key(t[0]), t[1])):
        first = int(net.network_address)
        while open_ and (open_[-1][0] != net.version or open_[-1][1] < first):
            open_.pop()
        for _, _, other, j in reversed(open_):
            if j != k:
                later, earlier, a, b = (k, j, net, other) if k > j else (j, k, other, net)
                if later not in reported:
                    reported.add(later)
                    out.append((segments[later].where, f"{a} overlaps {b} used by {_dotted(segments[earlier].where)}"))
                break
        open_.append((net.version, int(net.broadcast_address), net, k))
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


def _routes(topo: TopologyFile, nodes: dict[str, NodeSpec], result: Topology, errors: Errors) -> dict:
    """Each node's routes: its own, plus a default via each gateway bridge it is a member of."""
    routes: dict[str, tuple[Route, ...]] = {}
    gateways: dict[str, list[Route]] = {}
    by_name = {(b.name, b.node): b for b in result.bridges}
    for bname, br in topo.bridges.items():
        if not br.gateway:
            continue
        bdev = by_name.get((bname, br.node))
        for addr in (bdev.addresses if bdev else ()):
            for ep in br.members:
                gateways.setdefault(ep.node, []).append(Route(to="default", via=addr.ip))
    for name, spec in nodes.items():
        own = list(spec.routes)
        families = {_family(r) for r in own if r.to == "default"}
        for r in gateways.get(name, []):
            if _family(r) not in families:
                own.append(r)
                families.add(_family(r))
        connected = [a.network for i in result.interfaces(name) for a in i.addresses]
        ifaces = {i.name for i in result.interfaces(name)} | {"lo"}
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
        ifaces = {i.name for i in result.interfaces(name)}
        for key in spec.sysctls:
            dev = device_of(key)
            if dev is not None and dev not in ifaces:
                errors.append((("nodes", name, "sysctls", key),
                               f"{name} has no interface {dev!r} (it has: {', '.join(sorted(ifaces)) or 'none'})"))
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
