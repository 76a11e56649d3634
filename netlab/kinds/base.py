"""What a node kind is: the spec a file gives a node of it, the steps that make the
node's namespace, the ops those steps add and the backend that runs them, and
the kind's hooks. Everything is declared here, with a default that does nothing,
so callers call a hook rather than look for it.

The planner plumbs interfaces into the node the same way for every kind; a kind
only says how its namespace comes to be, how a command runs in it, and what it
checks before `up`, reports in `status` and removes when a record is lost.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import ClassVar

from netlab import names
from netlab.backend.base import BackendFactory
from netlab.model import NodeSpec
from netlab.step import Step

Problems = list[tuple[tuple, str]]  # (field path inside the node, message)


class NodeKind:
    """Base of every node kind: a plain namespace unless a subclass says otherwise."""

    name: ClassVar[str] = ""
    spec: ClassVar[type[NodeSpec]] = NodeSpec
    root: ClassVar[bool] = False  # True only for the real host (the root namespace)
    # ops only this kind plans, each as the command it amounts to (netlab.ops.describe)
    ops: ClassVar[Mapping[str, Callable[[dict], str]]] = MappingProxyType({})
    # op, or op prefix ending in ".", → the backend that runs it (the rest go to the kernel's)
    backends: ClassVar[Mapping[str, BackendFactory]] = MappingProxyType({})

    def netns(self, lab: str, node: str) -> str | None:
        """The namespace the node's interfaces live in (None: the root namespace)."""
        return names.netns(lab, node)

    def create(self, lab: str, node: str, spec: NodeSpec) -> list[Step]:
        """The steps that make the node's namespace, each with its inverse."""
        ns = names.netns(lab, node)
        return [Step("netns.create", {"ns": ns}, undo="netns.delete"),
                Step("netns.mark", {"ns": ns, "alias": names.mark(lab, node)}, scope=ns)]

    def exec_argv(self, lab: str, node: str, argv: list[str]) -> tuple[str | None, list[str]]:
        """(namespace to enter, argv) that runs a command in the node."""
        return self.netns(lab, node), argv

    def problems(self, node: str, spec: NodeSpec) -> Problems:
        """What the kind refuses in a valid spec, as (field path, message)."""
        return []

    # -- hooks ------------------------------------------------------------------
    def preflight(self, lab: str, node: str, spec: NodeSpec) -> None:
        """Checks before `up` changes anything; raise a NetlabError to refuse."""

    def health(self, lab: str, node: str) -> dict:
        """What `status` adds for the node (``error`` if it is broken)."""
        return {}

    def sweep(self, lab: str | None) -> list[str]:
        """Remove what a lost state record cannot list (of ``lab``, or of every lab); problems met."""
        return []
