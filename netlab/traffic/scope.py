"""Where traffic may go: only to the subnets of the lab it is sent from."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from netlab import state
from netlab.errors import NetlabError, UsageError

IPv4Net = ipaddress.IPv4Network

MAX_COUNT = 1_000_000
MAX_SECONDS = 120.0


def lab_subnets(lab: str) -> list[IPv4Net]:
    """The IPv4 subnets of every address netlab gave the lab's interfaces."""
    nets = set()
    for step in state.read(lab).steps:
        if step.op == "addr.add":
            iface = ipaddress.ip_interface(step.args["address"])
            if iface.version == 4:
                nets.add(iface.network)
    return sorted(nets)


def network(target: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """An address or a network given on the command line, or a NetlabError saying what it is not."""
    try:
        return ipaddress.ip_network(target, strict=False)
    except ValueError:
        raise UsageError(f"{target!r} is not an IPv4 address or network (e.g. 198.18.0.2)") from None


def check_targets(subnets: Iterable[IPv4Net], targets: Iterable[str], lab: str = "the lab") -> None:
    """NetlabError unless every target (an address or a network) lies inside one of ``subnets``."""
    subnets = list(subnets)
    for target in targets:
        net = network(target)
        if not any(net.version == s.version and net.subnet_of(s) for s in subnets):
            inside = ", ".join(map(str, subnets)) or "none"
            raise NetlabError(f"{target} is outside {lab}'s subnets ({inside}): traffic goes to lab addresses only")


def check_bounds(count: int, seconds: float) -> None:
    if not 0 < count <= MAX_COUNT:
        raise NetlabError(f"count {count} is out of bounds (1 … {MAX_COUNT:,})")
    if not 0 < seconds <= MAX_SECONDS:
        raise NetlabError(f"duration {seconds} s is out of bounds (0 … {MAX_SECONDS:g} s)")


def guard(lab: str, targets: Iterable[str], count: int = 1, seconds: float = 1.0) -> None:
    """Refuse traffic outside the lab's subnets or beyond the bounds."""
    check_bounds(count, seconds)
    check_targets(lab_subnets(lab), targets, f"lab {lab}")
