"""The ``netns`` node kind: a plain network namespace, the default, and what the
book's chapter 10 builds."""

from __future__ import annotations

from netlab.kinds.base import NodeKind


class NetnsKind(NodeKind):
    name = "netns"
