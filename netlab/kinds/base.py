"""Node kinds: what a node is and how its namespace comes to be.

A kind is a small class registered by name; the planner asks the kind for the
steps that make the node's namespace, then plumbs interfaces into it the same
way for every kind. New kinds (docker) add a class, not an if-chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from netlab import names
from netlab.model import NodeSpec
from netlab.step import Step


class NodeKind:
    """Base of every node kind."""

    name = ""
    spec: type[NodeSpec] = NodeSpec
    root = False  # True only for the real host (the root namespace)

    def netns(self, lab: str, node: str) -> str | None:
        """The namespace name the node's interfaces live in (None: the root namespace)."""
        return names.netns(lab, node)

    def create(self, lab: str, node: str, spec: NodeSpec) -> list[Step]:
        ns = names.netns(lab, node)
        return [Step("netns.create", {"ns": ns}, undo="netns.delete"),
                Step("netns.mark", {"ns": ns, "alias": names.mark(lab, node)}, scope=ns)]

    def exec_argv(self, lab: str, node: str, argv: list[str]) -> tuple[str | None, list[str]]:
        """(namespace to enter, argv) that runs a command in the node."""
        return self.netns(lab, node), argv

    def problems(self, node: str, spec: NodeSpec) -> list[tuple[tuple, str]]:
        return []


class NetnsKind(NodeKind):
    """A plain network namespace: the default, and what the book's chapter 10 builds."""

    name = "netns"


class HostKind(NodeKind):
    """The real host. Only a file that says `kind: host` gets it; netlab then adds
    interfaces to the root namespace but never changes its sysctls or forwarding."""

    name = "host"
    root = True

    def netns(self, lab: str, node: str) -> str | None:
        return None

    def create(self, lab: str, node: str, spec: NodeSpec) -> list[Step]:
        return []

    def problems(self, node: str, spec: NodeSpec) -> list[tuple[tuple, str]]:
        out = []
        if spec.sysctls:
            out.append((("sysctls",), "netlab never changes the real host's sysctls; use a netns node"))
        if spec.forwarding:
            out.append((("forwarding",), "netlab never turns on forwarding on the real host; use a netns node"))
        if spec.nat:
            out.append((("nat",), "netlab never changes the real host's firewall; use a netns node"))
        return out


def _builtin() -> dict[str, NodeKind]:
    kinds: dict[str, NodeKind] = {k.name: k() for k in (NetnsKind, HostKind)}
    try:
        from netlab.kinds.docker import DockerKind
    except ImportError:  # the docker kind is optional
        return kinds
    kinds[DockerKind.name] = DockerKind()
    return kinds


KINDS: Mapping[str, NodeKind] = MappingProxyType(_builtin())


def kind(name: str) -> NodeKind:
    return KINDS[name]
