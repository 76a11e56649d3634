"""A LAN of any size for a generated lab: one bridge, or several joined by trunks.

A Linux bridge holds at most 1,023 ports, but a LAN's bridges get at most 500
each: a broadcast (every ARP request) is flooded to all ports in one softirq,
each copy queued on the CPU's backlog, which holds net.core.netdev_max_backlog
packets (1,000, the machine's; netlab never changes it). On a 1,023-port bridge
some hosts never heard some ARP requests (1,100 hosts: 5 of 200 pairs
unreachable, 1.3 million backlog drops; with 500-port bridges none). Past that
the hosts are spread over bridges br1, br2, ... in the same node, each joined by
a trunk (a veth, one port on each side) to the first bridge, which holds the
LAN's subnet and gateway.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# BR_MAX_PORTS is 1,024 (net/bridge/br_private.h) but port number 0 is reserved
# (br_if.c find_portno), so the 1,024th port fails with EXFULL: 1,023 ports.
BRIDGE_PORTS = 1023
PORTS_PER_BRIDGE = 500  # half the default netdev_max_backlog: a flood always fits


def bridge_count(members: int) -> int:
    """Bridges needed for ``members`` ports: the first also holds a trunk to each other one."""
    if members <= PORTS_PER_BRIDGE:
        return 1
    # bridge 0: PORTS_PER_BRIDGE - (k - 1) members; every other: PORTS_PER_BRIDGE - 1
    return 1 + math.ceil((members - PORTS_PER_BRIDGE) / (PORTS_PER_BRIDGE - 2))


def first_bridge_members(members: int) -> int:
    """How many of ``members`` the first bridge holds (it has a trunk to each other bridge)."""
    count = bridge_count(members)
    return PORTS_PER_BRIDGE - (count - 1) if count > 1 else members


def bridges(owner: str, members: list[str], subnet: str, address: str | None = None,
            name: Callable[[int], str] = "br{}".format) -> dict[str, dict]:
    """The ``bridges:`` of one LAN owned by node ``owner``, named ``name(0)``,
    ``name(1)``...: the first holds the subnet (and ``address`` as the members'
    gateway, if given)."""
    count = bridge_count(len(members))
    first = first_bridge_members(len(members))
    out: dict[str, dict] = {}
    head: dict = {"node": owner, "subnet": subnet}
    if address:
        head.update(address=address, gateway=True)
    out[name(0)] = {**head, "members": members[:first]}
    start = first
    for i in range(1, count):
        part = members[start:start + PORTS_PER_BRIDGE - 1]
        start += len(part)
        out[name(i)] = {"node": owner, "trunks": [name(0)], "members": part}
    return out
