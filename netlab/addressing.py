"""Addresses for every segment (a link, or a bridge with its members): the ones
written are kept and checked, the others drawn from the segment's pool.

Linear in the size of the lab: overlaps are found by one sorted sweep and the
pools' free subnets by bisection, not by comparing every network with every other
(16,000 addressed links took 470 s that way).
"""

from __future__ import annotations

import bisect
import ipaddress
from dataclasses import dataclass

from netlab.model import Pool
from netlab.problems import Listing, dotted as _dotted
from netlab.values import v4_interface

Path = tuple
Errors = list[tuple[Path, str]]


@dataclass
class Segment:
    """A broadcast domain (one link, or one bridge with its members) being addressed."""

    where: Path
    pool: str
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None
    slots: list  # [(path, explicit addresses or None for auto)]


class _Allocator:
    """Hands out each pool's subnets in order, never over an explicit network or
    another pool's allocation. The i-th subnet is computed, not enumerated, and a
    pool's own earlier subnets are not re-checked: allocating stays linear."""

    def __init__(self, pools: dict[str, Pool], taken: list[tuple[int, int, int]]):
        self.pools = pools
        # explicit networks anywhere in the file (as spans: version, first, last) are never
        # allocated over; nor is one pool's subnet given again by another (all of them
        # disjoint: the allocator's work)
        self.taken = {v: _Intervals((first, last) for version, first, last in taken if version == v) for v in (4, 6)}
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


def assign(segments: list[Segment], pools: dict[str, Pool], errors: Errors,
           reserved: list = ()) -> dict[Path, tuple]:
    """Explicit addresses kept, automatic ones drawn from each segment's subnet; no
    subnet drawn holds a ``reserved`` network (the hosts' underlay addresses)."""
    # addresses as (version, integer) and networks as spans of integers: ipaddress's
    # .ip, .broadcast_address and hashing make a new object each time, and were most of
    # the time of addressing 20,000 links
    seen: dict[tuple[int, int], Path] = {}
    nets: list[tuple] = []  # (version, first, prefix length, segment index, last, network)
    known = Listing(pools)
    for k, seg in enumerate(segments):
        if seg.pool not in pools:
            errors.append((seg.where + ("pool",), f"no pool named {seg.pool!r} (pools: {known})"))
        # each network once, by identity: hashing an IPv4Network (in Python) was a quarter
        # of this loop, and the two ends of a link share theirs (values.v4_interface); two
        # equal networks as two objects give one span twice, which the overlap sweep
        # (same segment) and the allocator (nested spans merge) both ignore
        seg_nets = {id(a.network): a.network for _, addrs in seg.slots for a in (addrs or ())}
        if seg.subnet:
            seg_nets[id(seg.subnet)] = seg.subnet
        for where, addrs in seg.slots:
            for a in addrs or ():
                ip = (a.version, int(a))
                if ip in seen:
                    errors.append((where + ("address",), f"{a.ip} is already given to {_dotted(seen[ip])}"))
                seen[ip] = where
                if seg.subnet and a.version == seg.subnet.version and a not in seg.subnet:
                    errors.append((where + ("address",), f"{a} is outside the segment's subnet {seg.subnet}"))
        for net in seg_nets.values():
            version, first, last = _span(net)
            nets.append((version, first, net.prefixlen, k, last, net))
    errors += _overlaps(nets, segments)
    alloc = None  # made when a segment first needs it: a file with every address written needs none
    out: dict[Path, tuple] = {}
    for seg in segments:
        auto = [w for w, addrs in seg.slots if addrs is None]
        for where, addrs in seg.slots:
            out[where] = tuple(addrs or ())
        if not auto or seg.pool not in pools:
            continue
        alloc = alloc or _Allocator(pools, [(n[0], n[1], n[4]) for n in nets] + [_span(n) for n in reserved])
        for version in (4, 6):
            subnet = _segment_subnet(seg, version, alloc, errors)
            if subnet is None:
                continue
            free = (h for h in subnet.hosts() if (version, int(h)) not in seen)
            make = v4_interface if version == 4 else lambda ip, plen: ipaddress.IPv6Interface((ip, plen))
            for where in auto:
                host = next(free, None)
                if host is None:
                    errors.append((seg.where, f"subnet {subnet} has no free address left for {_dotted(where)}"))
                    break
                seen[version, int(host)] = where
                out[where] += (make(int(host), subnet.prefixlen),)
    return out


def _span(net) -> tuple[int, int, int]:
    """(version, first address, last address) of a network, as integers."""
    first = int(net.network_address)
    return net.version, first, first + (1 << (net.max_prefixlen - net.prefixlen)) - 1


def _overlaps(nets: list[tuple], segments: list[Segment]) -> Errors:
    """Networks of different segments that overlap, each segment's first clash once
    (sorted sweep: CIDR networks that overlap nest, so the ones still open contain the next)."""
    out: Errors = []
    reported: set[int] = set()
    open_: list[tuple] = []  # (version, last address, network, segment index)
    for version, first, _, k, last, net in sorted(nets, key=lambda n: n[:4]):
        while open_ and (open_[-1][0] != version or open_[-1][1] < first):
            open_.pop()
        for _, _, other, j in reversed(open_):
            if j != k:
                later, earlier, a, b = (k, j, net, other) if k > j else (j, k, other, net)
                if later not in reported:
                    reported.add(later)
                    out.append((segments[later].where, f"{a} overlaps {b} used by {_dotted(segments[earlier].where)}"))
                break
        open_.append((version, last, net, k))
    return out


def _segment_subnet(seg: Segment, version: int, alloc: _Allocator, errors: Errors):
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
