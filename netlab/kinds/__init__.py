from netlab.kinds.base import KINDS, HostKind, NetnsKind, NodeKind, kind  # noqa: F401
