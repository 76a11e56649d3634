"""The ``host`` node kind: the real host. Only a file that says `kind: host` gets it;
netlab then adds interfaces to the root namespace but never changes its sysctls,
forwarding or firewall."""

from __future__ import annotations

from netlab.kinds.base import NodeKind, Problems
from netlab.model import NodeSpec
from netlab.step import Step


class HostKind(NodeKind):
    name = "host"
    root = True

    def netns(self, lab: str, node: str) -> str | None:
        return None

    def create(self, lab: str, node: str, spec: NodeSpec) -> list[Step]:
        return []

    def problems(self, node: str, spec: NodeSpec) -> Problems:
        out = []
        if spec.sysctls:
            out.append((("sysctls",), "netlab never changes the real host's sysctls; use a netns node"))
        if spec.forwarding:
            out.append((("forwarding",), "netlab never turns on forwarding on the real host; use a netns node"))
        if spec.nat:
            out.append((("nat",), "netlab never changes the real host's firewall; use a netns node"))
        return out
