"""A picture as Mermaid flowchart text (GitHub and most Markdown viewers draw it).
Hand-written: no maintained Python library writes Mermaid; the text is simple
and every label is quoted, with Mermaid's own escapes for what quoting cannot hold."""

from __future__ import annotations

from netlab.graph.model import End, Graph


def _text(s: str) -> str:
    return s.replace("&", "#amp;").replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def _lines(*parts: str) -> str:
    return "<br/>".join(_text(p) for p in parts if p)


def _end(end: End) -> str:
    state = end.state if end.state and end.state != "UP" else ""
    return " ".join(p for p in (end.ifname, *end.addresses, state) if p)


def text(graph: Graph) -> str:
    """``flowchart LR`` with a box per node, a hexagon per bridge, an edge per link
    labelled with both ends' interfaces and addresses; links that are down dotted."""
    ids: dict[str, str] = {}

    def ref(key: str) -> str:
        return ids.setdefault(key, f"x{len(ids)}")

    out = ["flowchart LR", f"  %% lab {_text(graph.lab)} from {_text(graph.source)}"]
    for node in graph.nodes:
        marks = ["(" + node.kind + ")" if node.kind != "netns" else "", "⇄ forwarding" if node.forwarding else ""]
        out.append(f'  {ref("n:" + node.name)}["{_lines(node.name, *marks, *(f"NAT: {r}" for r in node.nat))}"]')
    for br in graph.bridges:
        state = br.state if br.state and br.state != "UP" else ""
        out.append(f'  {ref("b:" + br.name)}{{{{"{_lines("bridge " + br.name, "in " + br.node, *br.addresses, state)}"}}}}')
        out.append(f'  {ref("n:" + br.node)} -.- {ref("b:" + br.name)}')
    for bridge, count in graph.hidden.items():
        out.append(f'  {ref("h:" + bridge)}["… {count:,} more hosts"] --- {ref("b:" + bridge)}')
    for n, link in enumerate(graph.links):
        a = ref(f"b:{link.a.bridge}" if link.a.bridge else f"n:{link.a.node}")
        b = ref(f"b:{link.b.bridge}" if link.b.bridge else f"n:{link.b.node}")
        ends = [_end(e) for e in (link.a, link.b) if not e.bridge]
        label = " ↔ ".join(ends) if link.kind == "veth" else ends[0] if ends else "trunk"
        label = ("DOWN " if link.down else "") + label + (f" ({link.note})" if link.note else "")
        arrow = "-.-" if link.down else "===" if link.kind == "trunk" else "---"
        out.append(f'  {a} {arrow}|"{_text(label)}"| {b}')
        if link.down:
            out.append(f"  linkStyle {_edge_index(out)} stroke:#c0392b")
    return "\n".join(out) + "\n"


def _edge_index(lines: list[str]) -> int:
    """Mermaid numbers edges in the order written: the one just added."""
    return sum(1 for line in lines if " -.- " in line or " --- " in line or " === " in line) - 1
