"""Address plans for generated labs, computed up front inside 198.18.0.0/15.

LANs come from 198.18.0.0/16 and point-to-point links from 198.19.0.0/16, as the
default pools have it (RFC 2544: reserved for benchmarks). Every subnet a
generator writes is carved here, in order and aligned, so a big lab either fits
or is refused with what it would need, never half-addressed.
"""

from __future__ import annotations

import ipaddress

from netlab.errors import NetlabError

LAN_SPACE = ipaddress.IPv4Network("198.18.0.0/16")
P2P_SPACE = ipaddress.IPv4Network("198.19.0.0/16")
ALL_SPACE = ipaddress.IPv4Network("198.18.0.0/15")
P2P_PREFIX = 30


class GenerateError(NetlabError):
    """Parameters no lab can be generated for (too big for the address space, a bad name...)."""


def prefix_for(addresses: int, widest: int = 24) -> int:
    """The prefix of the smallest subnet holding ``addresses`` hosts besides its network
    and broadcast addresses, and never smaller than a /``widest``."""
    bits = max((addresses + 1).bit_length(), 32 - widest)
    return 32 - bits


def carve(space: ipaddress.IPv4Network, count: int, prefix: int, what: str) -> list[ipaddress.IPv4Network]:
    """``count`` consecutive /``prefix`` subnets from the start of ``space``."""
    if prefix < space.prefixlen or count > 1 << (prefix - space.prefixlen):
        room = 0 if prefix < space.prefixlen else 1 << (prefix - space.prefixlen)
        raise GenerateError(f"{what}: {count} × /{prefix} do not fit in {space} (room for {room}); "
                            "netlab's labs stay inside 198.18.0.0/15 (RFC 2544)")
    first, size = int(space.network_address), 1 << (32 - prefix)
    return [ipaddress.IPv4Network((first + i * size, prefix)) for i in range(count)]


def host(subnet: ipaddress.IPv4Network, n: int) -> str:
    """The n-th address of ``subnet`` (1 = first host), with its prefix: "198.18.0.1/24"."""
    return f"{subnet.network_address + n}/{subnet.prefixlen}"


def p2p(count: int, what: str) -> list[ipaddress.IPv4Network]:
    """``count`` point-to-point /30 subnets from 198.19.0.0/16."""
    return carve(P2P_SPACE, count, P2P_PREFIX, what)
