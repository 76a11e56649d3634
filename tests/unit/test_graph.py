"""Pictures of topologies without root: every example topology drawn in every
format; the rendered images are real SVG/PNG naming every node."""

from __future__ import annotations

import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netlab import generate, graph, loader
from netlab.cli import app
from netlab.graph import dot

TOPOS = Path(__file__).parents[2] / "topologies"
EXAMPLES = sorted(TOPOS.glob("*.yaml"))
runner = CliRunner()
needs_dot = pytest.mark.skipif(not dot.available(), reason="Graphviz's dot is not installed (install-system.sh)")


def svg_texts(data: bytes) -> str:
    root = ET.fromstring(data)  # raises if it is not well-formed XML
    assert root.tag.endswith("svg")
    return " ".join(t.text or "" for t in root.iter() if t.tag.endswith("text"))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_topology_is_drawn_naming_every_node_and_interface(path):
    topo = loader.load(path)
    picture = graph.from_topology(topo)
    text = graph.draw(picture, "mermaid").decode()
    source = graph.draw(picture, "dot").decode()
    for node in topo.nodes:
        assert node in text and node in source
    for v in topo.veths:
        for e in (v.a, v.b):
            if not e.master:
                assert e.name in text and all(str(a) in text for a in e.addresses)
    for b in topo.bridges:
        assert f"bridge {b.name}" in text


@needs_dot
@pytest.mark.parametrize("path", EXAMPLES, ids=[p.stem for p in EXAMPLES])
def test_every_example_topology_renders_to_svg_and_png(path):
    topo = loader.load(path)
    picture = graph.from_topology(topo)
    words = svg_texts(graph.draw(picture, "svg"))
    assert all(node in words for node in topo.nodes)
    width, height = png_size(graph.draw(picture, "png"))
    assert width > 100 and height > 40


def test_forwarding_and_nat_are_marked():
    text = graph.draw(graph.from_topology(loader.load(TOPOS / "nat.yaml")), "mermaid").decode()
    assert "⇄ forwarding" in text
    assert "NAT: masquerade out eth1 from 198.18.0.0/24" in text and "NAT: dnat eth1:8080/tcp to 198.18.0.2:80" in text


def test_a_big_star_is_summarised_per_bridge():
    picture = graph.summarize(graph.from_topology(loader.load_data(generate.star(3000))), keep=10)
    hosts = [n for n in picture.nodes if n.name.startswith("h")]
    bridges = len(picture.bridges)
    assert len(hosts) == 10 * bridges and sum(picture.hidden.values()) == 3000 - 10 * bridges
    assert f"… {picture.hidden['br1']:,} more hosts" in graph.draw(picture, "mermaid").decode()


@needs_dot
def test_graph_cli_writes_a_png_from_stdin_and_mermaid_to_stdout(tmp_path):
    out = tmp_path / "clos.png"
    text = generate.to_yaml(generate.clos(2, 3, 2))
    done = subprocess.run([str(Path(sys.executable).parent / "netlab"), "graph", "-", "--format", "png", "-o",
                           str(out)], input=text, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert png_size(out.read_bytes())[0] > 100
    done = runner.invoke(app, ["graph", str(TOPOS / "routed.yaml")])
    assert done.exit_code == 0 and done.stdout.startswith("flowchart LR")


def test_graph_cli_errors_say_what_is_wrong():
    """A name that is neither a file nor a lab, and an unknown format: usage errors (exit 2), as elsewhere."""
    done = runner.invoke(app, ["graph", "no-such-file-or-lab"])
    assert done.exit_code == 2 and "no such file, and no lab of that name is up" in done.output
    done = runner.invoke(app, ["graph", str(TOPOS / "nat.yaml"), "--format", "jpeg"])
    assert done.exit_code == 2 and "one of mermaid, dot, svg, png" in done.output


@needs_dot
def test_a_report_picture_is_an_svg_beside_the_report(tmp_path):
    lines = graph.report_picture(loader.load(TOPOS / "bridge-lan.yaml"), tmp_path, "net")
    assert lines[0] == "![network of bridge-lan](net.svg)"
    assert "h3" in svg_texts((tmp_path / "net.svg").read_bytes())


@needs_dot
def test_the_labs_report_shows_each_labs_network(tmp_path):
    from netlab.labs import discover, report
    from netlab.labs.runner import LabResult

    spec = next(s for s in discover.discover() if s.topology_path)
    result = LabResult(spec.name, spec.chapter, spec.question, "lb-x-000000", short=True, reason="not run")
    text = report.write([result], tmp_path).read_text()
    assert f"![network of lb-x-000000]({spec.name}-network.svg)" in text
    assert (tmp_path / f"{spec.name}-network.svg").exists()
