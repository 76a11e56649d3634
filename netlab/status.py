"""`netlab status`: a lab as the kernel reports it, node by node."""

from __future__ import annotations

from netlab import kinds, live, state
from netlab.backend import netns
from netlab.backend.inspect import node_view


def lab_status(lab: str) -> dict:
    """The lab's nodes as the kernel reports them (interfaces, routes, nftables), each
    interface with the impairments the lab gave it (the file's, then live changes)."""
    record = state.read(lab)
    out: dict = {"lab": lab, "status": record.status, "source": record.source, "nodes": {}}
    ends = live.ends(record)
    for node, kind_name in record.extra.get("kinds", {}).items():
        kind = kinds.kind(kind_name)
        ns = kind.netns(lab, node)
        entry: dict = {"kind": kind_name, "netns": ns, **kind.health(lab, node)}
        if ns is not None and not netns.exists(ns):
            entry["error"] = f"namespace {ns} is missing"
        elif ns is not None:
            entry.update(node_view(ns))
            for iface in entry["interfaces"]:
                end = ends.get(f"{node}:{iface['name']}")
                shaping = {k: v for k, v in live.current(record, end).items() if k in live.IMPAIRMENTS} if end else {}
                if shaping:
                    iface["impairments"] = shaping
        out["nodes"][node] = entry
    return out
