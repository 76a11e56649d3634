"""The paths `netlab bench paths` measures: an open table, name → who talks to whom.

A path is a client node, a server node and the address the client dials, all
in one topology file. A new path (a docker node kind's ``docker`` path) joins
by adding its nodes to that file, or naming a file of its own, and a row here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from netlab import content

if TYPE_CHECKING:  # the engine processes import this package: keep pydantic out of their start-up
    from netlab.resolve import Topology

DEFAULT_TOPOLOGY = "paths.yaml"


@dataclass(frozen=True)
class PathDef:
    """One path: ``client`` dials ``address`` where ``server`` listens.

    ``address`` is an IP literal or ``node:interface`` (that interface's first
    address in the topology). ``topology`` is a file under topologies/ (or an
    absolute path)."""

    name: str
    client: str
    server: str
    address: str
    about: str
    topology: str = DEFAULT_TOPOLOGY

    def server_address(self, topo: Topology) -> str:
        """The address the client dials, looked up in the built topology."""
        node, sep, ifname = self.address.partition(":")
        if not sep or node not in topo.nodes:
            return self.address
        for iface in topo.interfaces(node):
            if iface.name == ifname and iface.addresses:
                return str(iface.addresses[0].ip)
        raise LookupError(f"path {self.name}: {node} has no address on {ifname!r} in {topo.source}")


PATHS = MappingProxyType({p.name: p for p in (
    PathDef("loopback", "cl", "cl", "127.0.0.1",
            "127.0.0.1 inside one node: no driver queue, no hard IRQ, but the whole TCP/IP stack "
            "and a NET_RX softirq (book ch. 5)"),
    PathDef("own-ip", "cl", "cl", "cl:eth0",
            "the node's own eth0 address: routed through the local table to lo, the same way as 127.0.0.1"),
    PathDef("veth", "cl", "vp", "vp:eth0", "one veth pair between two namespaces (book ch. 10)"),
    PathDef("bridge", "b1", "b2", "b2:eth0", "two hosts on a Linux bridge: veth → bridge → veth"),
    PathDef("routed", "rc", "rs", "rs:eth0", "through a forwarding node: veth → IP forwarding → veth"),
    PathDef("nat", "nc", "outside", "outside:eth0",
            "through a node that masquerades towards 203.0.113.0/24: routed hop plus conntrack and SNAT"),
    PathDef("vxlan", "vc", "vs", "vs:eth0",
            "two hosts (simulated: each host's namespace a node, a veth between them as the underlay): "
            "VXLAN encapsulation on one, the underlay hop, decapsulation on the other, MTU 1450 — an overlay "
            "network's hop (flannel, Calico in VXLAN mode)", topology="paths-vxlan.yaml"),
    PathDef("docker", "dc", "dk", "dk:eth0",
            "a host to a Docker container on a Linux bridge, as docker0 wires one: the bridge path, "
            "ending in the container's own namespace (book ch. 10)", topology="paths-docker.yaml"),
)})

METRICS = ("rr", "crr", "stream")
# --engine: a name → the engines that measure each path (the reference tools, or all of them)
ENGINE_CHOICES = {"builtin": ("builtin",), "sockperf": ("sockperf",), "iperf3": ("iperf3",),
                  "reference": ("sockperf", "iperf3"), "all": ("builtin", "sockperf", "iperf3")}


def topology_file(name: str) -> Path:
    """A shipped topology by file name (an absolute path is taken as it is)."""
    return content.topologies_dir() / name


def select(names: list[str] | None, table=PATHS) -> list[PathDef]:
    """The paths asked for, in table order; ValueError naming the known ones."""
    if not names:
        return list(table.values())
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"unknown path {unknown[0]!r} (paths: {', '.join(table)})")
    return [p for p in table.values() if p.name in names]


def select_metrics(names: list[str] | None) -> list[str]:
    if not names:
        return list(METRICS)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"unknown metric {unknown[0]!r} (metrics: {', '.join(METRICS)})")
    return [m for m in METRICS if m in names]
