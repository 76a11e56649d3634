"""Pictures of running labs: what the kernel reports, so a link set down shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab import graph
from netlab import node as nodeexec

pytestmark = pytest.mark.root
TOPOS = Path(__file__).parents[2] / "topologies"


def test_a_running_lab_is_drawn_from_the_kernel_with_a_down_link(build, lab_name):
    build((TOPOS / "nat.yaml").read_text())
    picture = graph.of_lab(lab_name)
    gw = next(n for n in picture.nodes if n.name == "gw")
    assert gw.forwarding and "masquerade out eth1 from 198.18.0.0/24" in gw.nat  # read from the namespace
    assert {n.name for n in picture.nodes} == {"gw", "h1", "h2", "outside"}
    assert not any(link.down for link in picture.links)
    h1 = next(k for k in picture.links if k.a.node == "h1")
    assert h1.kind == "member" and h1.b.bridge == "br0" and h1.a.addresses == ("198.18.0.2/24",)

    nodeexec.run(lab_name, "h1", ["ip", "link", "set", "eth0", "down"], check=True)
    picture = graph.of_lab(lab_name)
    (down,) = [k for k in picture.links if k.down]
    assert down.a.node == "h1" and down.a.state == "DOWN"
    assert 'DOWN eth0 198.18.0.2/24' in graph.draw(picture, "mermaid").decode()
    if graph.dot.available():
        assert b"DOWN" in graph.draw(picture, "svg")


def test_a_deleted_interface_shows_as_missing(build, lab_name):
    build((TOPOS / "quickstart.yaml").read_text())
    nodeexec.run(lab_name, "h2", ["ip", "link", "del", "eth0"], check=True)
    (link,) = graph.of_lab(lab_name).links
    assert link.down and {link.a.state, link.b.state} == {"missing"}
