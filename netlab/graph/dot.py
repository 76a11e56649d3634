"""A picture as Graphviz DOT (built with the `graphviz` package, which quotes and
escapes for us), and rendered to SVG or PNG by Graphviz's `dot` program."""

from __future__ import annotations

import shutil

import graphviz

from netlab.errors import NetlabError
from netlab.graph.model import End, Graph, Link

DOWN = "#c0392b"
FORMATS = ("svg", "png")


def _node_label(node) -> str:
    lines = [node.name]
    if node.kind != "netns":
        lines.append(f"({node.kind})")
    if node.forwarding:
        lines.append("⇄ forwarding")
    lines += [f"NAT: {rule}" for rule in node.nat]
    return "\n".join(lines)


def _end_label(end: End) -> str:
    return "\n".join((end.ifname,) + end.addresses + ((end.state,) if end.state and end.state != "UP" else ()))


def source(graph: Graph) -> graphviz.Graph:
    """The picture as a graphviz.Graph (``.source`` is its DOT text)."""
    g = graphviz.Graph(graph.lab, graph_attr={"rankdir": "LR", "fontname": "Helvetica", "fontsize": "11",
                                              "label": f"lab {graph.lab} — {graph.source}", "labelloc": "t",
                                              "nodesep": "0.35", "ranksep": "1.4"},
                       node_attr={"fontname": "Helvetica", "fontsize": "10"},
                       edge_attr={"fontname": "Helvetica", "fontsize": "8", "labelfontsize": "8"})
    for node in graph.nodes:
        routerish = node.forwarding or node.nat
        g.node(f"n.{node.name}", _node_label(node), shape="box", style="rounded,filled",
               fillcolor="#fde9c9" if routerish else "#e8f0fe")
    for br in graph.bridges:
        label = "\n".join((f"bridge {br.name}", f"in {br.node}") + br.addresses
                          + ((br.state,) if br.state and br.state != "UP" else ()))
        g.node(f"b.{br.name}", label, shape="hexagon", style="filled", fillcolor="#e2f5e2",
               color=DOWN if br.state and br.state != "UP" else "black")
        # bridge → owner, as members → bridge: hosts, bridges, routers, uplinks left to right
        g.edge(f"b.{br.name}", f"n.{br.node}", style="dotted", tooltip=f"{br.name} is in {br.node}'s namespace")
    for bridge, count in graph.hidden.items():
        g.node(f"h.{bridge}", f"… {count:,} more hosts", shape="note", fontsize="9")
        g.edge(f"h.{bridge}", f"b.{bridge}", style="dashed")
    for link in graph.links:
        _edge(g, link)
    return g


def _edge(g: graphviz.Graph, link: Link) -> None:
    def point(end: End) -> str:
        return f"b.{end.bridge}" if end.bridge else f"n.{end.node}"

    attrs = {"taillabel": "" if link.a.bridge else _end_label(link.a),
             "headlabel": "" if link.b.bridge else _end_label(link.b)}
    label = link.note
    if link.kind == "trunk":
        attrs.update(penwidth="2.5")
        label = "trunk" + (f", {label}" if label else "")
    if link.down:
        attrs.update(color=DOWN, fontcolor=DOWN, style="dashed")
        label = "DOWN" + (f", {label}" if label else "")
    g.edge(point(link.a), point(link.b), label=label, **attrs)


def render(graph: Graph, fmt: str) -> bytes:
    """The picture as SVG or PNG bytes, laid out by Graphviz's `dot`."""
    if fmt not in FORMATS:
        raise NetlabError(f"format {fmt!r}: one of mermaid, dot, {', '.join(FORMATS)}")
    if not available():
        raise NetlabError("rendering needs Graphviz's `dot` (Debian package graphviz; scripts/install-system.sh "
                          "installs it); --format dot or mermaid need nothing")
    return source(graph).pipe(format=fmt)


def available() -> bool:
    return shutil.which("dot") is not None
