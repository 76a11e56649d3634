"""A LAN of any size for a generated lab: one bridge, or several joined by trunks.

A Linux bridge holds at most 1,023 ports, so past that the hosts are spread over
bridges br1, br2, ... in the same node, each joined by a trunk (a veth, one
port on each side) to the first bridge, which holds the LAN's subnet and gateway.
"""

from __future__ import annotations

import math
from collections.abc import Callable

# BR_MAX_PORTS is 1,024 (net/bridge/br_private.h) but port number 0 is reserved
# (br_if.c find_portno), so the 1,024th port fails with EXFULL: 1,023 ports.
BRIDGE_PORTS = 1023


def bridge_count(members: int) -> int:
    """Bridges needed for ``members`` ports: the first also holds a trunk to each other one."""
    if members <= BRIDGE_PORTS:
        return 1
    # bridge 0: BRIDGE_PORTS - (k - 1) members; every other: BRIDGE_PORTS - 1
    return 1 + math.ceil((members - BRIDGE_PORTS) / (BRIDGE_PORTS - 2))


def bridges(owner: str, members: list[str], subnet: str, address: str | None = None,
            name: Callable[[int], str] = "br{}".format) -> dict[str, dict]:
    """The ``bridges:`` of one LAN owned by node ``owner``, named ``name(0)``,
    ``name(1)``...: the first holds the subnet (and ``address`` as the members'
    gateway, if given)."""
    count = bridge_count(len(members))
    first = BRIDGE_PORTS - (count - 1) if count > 1 else len(members)
    out: dict[str, dict] = {}
    head: dict = {"node": owner, "subnet": subnet}
    if address:
        head.update(address=address, gateway=True)
    out[name(0)] = {**head, "members": members[:first]}
    start = first
    for i in range(1, count):
        part = members[start:start + BRIDGE_PORTS - 1]
        start += len(part)
        out[name(i)] = {"node": owner, "trunks": [name(0)], "members": part}
    return out
