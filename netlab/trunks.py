"""Bridges joined by trunks: one LAN across several Linux bridges.

A Linux bridge holds at most 1,023 ports (BR_MAX_PORTS, 1,024, less the reserved port 0),
so a bigger LAN is several bridges joined by veth pairs whose two ends are ports
of the two bridges (a bridge's ``trunks:``). Bridges joined that way are one
broadcast domain: one subnet, and a gateway on one of them serves the members of
all. Pure: no kernel.
"""

from __future__ import annotations

from collections.abc import Mapping

from netlab.model import Bridge
from netlab.problems import Listing

Errors = list[tuple[tuple, str]]


def domains(bridges: Mapping[str, Bridge], errors: Errors) -> dict[str, str]:
    """Each bridge's domain, named by its first bridge in file order; trunk problems
    (a missing bridge, a bridge joined to itself or twice, a loop) go to ``errors``.

    A loop of trunks floods every broadcast forever unless the spanning tree
    protocol runs, so one is refused unless both bridges it closes have ``stp: true``."""
    order = {name: i for i, name in enumerate(bridges)}
    parent = {name: name for name in bridges}

    def find(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    known = Listing(bridges)
    for bname, br in bridges.items():
        seen: set[str] = set()
        for k, other in enumerate(br.trunks):
            where = ("bridges", bname, "trunks", k)
            if other not in bridges:
                errors.append((where, f"no bridge named {other!r} (bridges: {known})"))
                continue
            if other == bname or other in seen:
                errors.append((where, f"{bname} is joined to {other} " + ("twice" if other in seen else "itself")))
                continue
            seen.add(other)
            a, b = find(bname), find(other)
            if a == b:
                if not (br.stp and bridges[other].stp):
                    errors.append((where, f"{bname} and {other} are already joined (through other trunks): this one "
                                          "makes a loop, which floods forever without `stp: true` on both bridges"))
                continue
            first, second = sorted((a, b), key=order.__getitem__)
            parent[second] = first
    return {name: find(name) for name in bridges}


def members_of(domain: str, bridges: Mapping[str, Bridge], root_of: Mapping[str, str]) -> list[str]:
    """The bridges of ``domain``, in file order."""
    return [name for name in bridges if root_of.get(name) == domain]


def ports(bridges: Mapping[str, Bridge]) -> dict[str, int]:
    """Ports each bridge will have: a member's veth end, and one end of each trunk it is in."""
    count = {name: len(br.members) + len(br.trunks) for name, br in bridges.items()}
    for br in bridges.values():
        for other in br.trunks:
            if other in count:
                count[other] += 1
    return count
