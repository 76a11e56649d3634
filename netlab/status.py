"""`netlab status`: a lab as the kernel reports it, node by node."""

from __future__ import annotations

from netlab import kinds, live, state
from netlab.errors import NoSuchLab
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
            try:
                entry.update(node_view(ns))
            except OSError as exc:  # gone while we looked (a `down` running beside us)
                entry["error"] = f"namespace {ns}: {exc.strerror or exc}"
            for iface in entry.get("interfaces", []):
                end = ends.get(f"{node}:{iface['name']}")
                shaping = {k: v for k, v in live.current(record, end).items() if k in live.IMPAIRMENTS} if end else {}
                if shaping:
                    iface["impairments"] = shaping
        out["nodes"][node] = entry
    return out


def every_lab() -> list[dict]:
    """The status of every lab with a record; one half-written says so instead of failing the rest."""
    out = []
    for lab in state.labs():
        try:
            out.append(lab_status(lab))
        except state.BrokenRecord as exc:
            out.append({"lab": lab, "status": "half-written record", "source": "", "nodes": {}, "error": str(exc)})
        except NoSuchLab:  # taken down since the listing
            continue
    return out
