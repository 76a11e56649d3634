"""Node kinds by name: what a node is and how its namespace comes to be.

Adding a kind is one module in this package (a NodeKind subclass: its spec,
steps, ops, backends and hooks) and one entry in ``KINDS`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from netlab.backend.base import BackendFactory
from netlab.kinds import docker, host, netns
from netlab.kinds.base import NodeKind

KINDS: Mapping[str, NodeKind] = MappingProxyType({k.name: k for k in (
    netns.NetnsKind(),
    host.HostKind(),
    docker.DockerKind(),
)})


def kind(name: str) -> NodeKind:
    return KINDS[name]


def op_words() -> dict[str, Callable[[dict], str]]:
    """Every kind's own ops, as the commands they amount to."""
    return {op: words for k in KINDS.values() for op, words in k.ops.items()}


def backend_routes() -> dict[str, BackendFactory]:
    """Op (or "prefix.") → backend factory, for every op a kind runs outside the kernel backend."""
    return {op: make for k in KINDS.values() for op, make in k.backends.items()}
