"""A lab over several machines: which host each node is on, and the VXLAN tunnel that
carries a link whose two ends are on different hosts. Pure: no kernel, no I/O.

A cross-host link is one VXLAN device at each end (RFC 7348): the node's interface
itself, made in the host's namespace (where the underlay is) and moved into the
node's, so its UDP socket stays on the underlay. Both ends use one VNI, derived
from the lab and the link, so each host computes the same one from the same file.
"""

from __future__ import annotations

from dataclasses import dataclass

from netlab import names
from netlab.model import Host, NodeSpec

Path = tuple
Errors = list[tuple[Path, str]]

DEFAULT_MTU = 1500  # the underlay's, assumed: Ethernet's
# what VXLAN adds to every frame: outer IP (20 for IPv4, 40 for IPv6) + UDP 8 + VXLAN 8 + inner Ethernet 14
OVERHEAD = {4: 50, 6: 70}
VNI_SPACE = 1 << 24  # 24 bits; 0 is left out (some switches treat it as "none")


@dataclass(frozen=True)
class Tunnel:
    """What carries one cross-host link: its VNI and UDP port, and the two hosts it joins."""

    vni: int
    port: int
    a_host: str
    b_host: str


def placement(hosts: dict[str, Host], nodes: dict[str, NodeSpec], errors: Errors) -> dict[str, str]:
    """Each node's host (empty without `hosts:`: everything is local, as before)."""
    known = ", ".join(sorted(hosts)) or "none: the file has no `hosts:`"
    out: dict[str, str] = {}
    for name, spec in nodes.items():
        if spec.host is None:
            if hosts:
                errors.append((("nodes", name), f"a lab with `hosts:` places every node: give {name} "
                                                f"`host:` (one of {known}), or set it in `defaults`"))
            continue
        if spec.host not in hosts:
            errors.append((("nodes", name, "host"), f"no host named {spec.host!r} (hosts: {known})"))
            continue
        out[name] = spec.host
    seen: dict = {}
    for name, host in hosts.items():
        if host.underlay in seen:
            errors.append((("hosts", name, "underlay"), f"{host.underlay} is already the underlay of host "
                                                        f"{seen[host.underlay]}: each host needs its own"))
        seen.setdefault(host.underlay, name)
    families = {h.underlay.version for h in hosts.values()}
    if len(families) > 1:
        errors.append((("hosts",), "underlay addresses mix IPv4 and IPv6: a tunnel joins two of one family"))
    return out


def tunnel(lab: str, key: str, a_host: str, b_host: str, hosts: dict[str, Host], where: Path,
           taken: set[int], errors: Errors) -> Tunnel:
    """The tunnel of the link named ``key`` (its ends, as the file names them) between two
    hosts. The VNI is a hash of (lab, key); a clash with another link of the lab moves it
    on to the next free one, in the file's order, so every host finds the same."""
    a, b = hosts[a_host], hosts[b_host]
    if a.vxlan_port != b.vxlan_port:
        errors.append((where, f"hosts {a_host} (vxlan_port {a.vxlan_port}) and {b_host} (vxlan_port "
                              f"{b.vxlan_port}) are joined by this link: both ends of a tunnel use one port"))
    vni = int(names.short_hash(lab, key, size=8), 16) % (VNI_SPACE - 1) + 1
    while vni in taken:
        vni = vni % (VNI_SPACE - 1) + 1
    taken.add(vni)
    return Tunnel(vni=vni, port=a.vxlan_port, a_host=a_host, b_host=b_host)


def tunnel_mtu(hosts: dict[str, Host]) -> int:
    """The MTU a cross-host interface gets unless the file gives one: the underlay's
    (assumed 1,500) less the encapsulation, so a full frame still fits one packet."""
    version = next(iter(hosts.values())).underlay.version
    return DEFAULT_MTU - OVERHEAD[version]
