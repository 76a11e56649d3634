"""Pictures of a lab: nodes, bridges and links with interface names and
addresses, forwarding and NAT marked; from a topology file, or from a running
lab as the kernel reports it (links that are down drawn so).

Formats: ``mermaid`` and ``dot`` (text), ``svg`` and ``png`` (Graphviz)."""

from __future__ import annotations

from pathlib import Path

from netlab.errors import NetlabError
from netlab.graph import dot, mermaid
from netlab.graph.model import Graph, from_topology, summarize
from netlab.resolve import Topology

FORMATS = ("mermaid", "dot", "svg", "png")


def draw(graph: Graph, fmt: str = "mermaid") -> bytes:
    """The picture in ``fmt``, as bytes (text formats UTF-8)."""
    if fmt == "mermaid":
        return mermaid.text(graph).encode()
    if fmt == "dot":
        return dot.source(graph).source.encode()
    if fmt in dot.FORMATS:
        return dot.render(graph, fmt)
    raise NetlabError(f"unknown format {fmt!r}: one of {', '.join(FORMATS)}")


def of_lab(lab: str) -> Graph:
    from netlab.graph.live import from_lab  # reads the kernel: only when a running lab is drawn

    return from_lab(lab)


def report_picture(topology: Topology | str, folder: Path, stem: str = "network") -> list[str]:
    """Markdown lines showing a report's network: ``topology`` (or a running lab's name)
    drawn to ``folder``/``stem``.svg, big LANs summarised. If Graphviz is missing, a
    line saying so (the report is still written)."""
    graph = summarize(of_lab(topology) if isinstance(topology, str) else from_topology(topology))
    if not dot.available():
        return [f"(network picture of {graph.lab} not drawn: Graphviz's `dot` is not installed)", ""]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{stem}.svg"
    path.write_bytes(dot.render(graph, "svg"))
    return [f"![network of {graph.lab}]({path.name})", ""]


__all__ = ["FORMATS", "Graph", "draw", "from_topology", "of_lab", "report_picture", "summarize"]
