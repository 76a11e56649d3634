"""The Python API without root: a topology built in Python is the validated model a file
gives, with the file's checks and messages placed at the Python call, and its YAML is a
file netlab reads back to the same model."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import netlab
from netlab import loader, plan
from netlab.cli import app

TOPOS = Path(__file__).parents[2] / "topologies"

NAT_YAML = """\
name: demo
nodes:
  gw: {forwarding: true, nat: [{type: masquerade, out: eth1}]}
  h0: {}
  h1: {}
  h2: {}
  outside: {}
bridges:
  br0: {node: gw, address: auto, gateway: true, members: [h0:eth0, h1:eth0, h2:eth0]}
links:
  - {endpoints: [gw:eth1, outside:eth0], subnet: 203.0.113.0/24, rate: 100mbit}
"""


def demo() -> netlab.Topology:
    topo = netlab.Topology("demo")
    topo.node("gw", forwarding=True)
    for i in range(3):
        topo.node(f"h{i}")
    topo.bridge("br0", node="gw", address="auto", gateway=True, members=[f"h{i}:eth0" for i in range(3)])
    topo.node("outside")
    topo.link("gw:eth1", "outside:eth0", subnet="203.0.113.0/24", rate="100mbit")
    return topo.nat("gw", type="masquerade", out="eth1")


def same(a, b) -> bool:
    """Two validated models equal but for where they were read from."""
    return dataclasses.replace(a, source="") == dataclasses.replace(b, source="")


def test_the_builder_gives_the_model_the_file_gives():
    built = demo().validate()
    assert same(built, loader.load_text(NAT_YAML, "demo.yaml"))
    assert built.address_of("outside") is not None and str(built.address_of("outside")).startswith("203.0.113.")
    assert plan.build(built).lines() == plan.build(loader.load_text(NAT_YAML)).lines()


def test_calls_chain():
    chained = (netlab.Topology("demo").node("gw", forwarding=True).node("h0").node("h1").node("h2")
               .bridge("br0", node="gw", address="auto", gateway=True, members=["h0:eth0", "h1:eth0", "h2:eth0"])
               .node("outside").link("gw:eth1", "outside:eth0", subnet="203.0.113.0/24", rate="100mbit")
               .nat("gw", type="masquerade", out="eth1"))
    assert same(chained.validate(), demo().validate())


def test_a_problem_names_the_python_line_that_added_the_element():
    topo = netlab.Topology("lab").node("a")
    line = inspect.currentframe().f_lineno + 1
    topo.node("b", kind="nosuchkind")
    with pytest.raises(netlab.TopologyError) as err:
        topo.validate()
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (__file__, line, "nodes.b.kind")
    assert str(problem) == f"{__file__}:{line}: nodes.b.kind: unknown kind 'nosuchkind' (kinds: docker, host, netns)"


def test_the_messages_are_the_file_s():
    topo = netlab.Topology("lab").node("a").node("b")
    link_line = inspect.currentframe().f_lineno + 1
    topo.link("a:eth0", "b:eth0", rate="fast", loss="150%")
    with pytest.raises(netlab.TopologyError) as built:
        topo.validate()
    with pytest.raises(netlab.TopologyError) as read:
        loader.load_text("name: lab\nnodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a:eth0, b:eth0], "
                         "rate: fast, loss: 150%}\n", "lab.yaml")
    assert [(p.field, p.message) for p in built.value.problems] == [(p.field, p.message) for p in read.value.problems]
    assert {p.line for p in built.value.problems} == {link_line}


def test_cross_references_are_placed_at_their_call():
    topo = netlab.Topology("lab").node("a")
    nat_line = inspect.currentframe().f_lineno + 1
    topo.nat("a", type="masquerade", out="eth7")
    link_line = inspect.currentframe().f_lineno + 1
    topo.link("a:eth0", "ghost:eth0")
    with pytest.raises(netlab.TopologyError) as err:
        topo.validate()
    where = {p.field: p.line for p in err.value.problems}
    assert where["links[0].endpoints[1].node"] == link_line
    assert where["nodes.a.nat[0].out"] == nat_line


@pytest.mark.parametrize("path", sorted(TOPOS.glob("*.yaml")), ids=lambda p: p.name)
def test_every_shipped_topology_round_trips_through_to_yaml(path):
    topo = netlab.load(path)
    assert same(loader.load_text(topo.to_yaml(), "again.yaml"), loader.load(path))
    assert same(netlab.from_dict(topo.to_dict()).validate(), loader.load(path))


def test_to_yaml_writes_a_file_netlab_reads(tmp_path):
    written = tmp_path / "demo.yaml"
    text = demo().to_yaml(written)
    assert written.read_text() == text
    result = CliRunner().invoke(app, ["validate", str(written), "--json"])
    assert result.exit_code == 0 and '"lab": "demo"' in result.stdout
    planned = CliRunner().invoke(app, ["plan", str(written)])
    assert planned.exit_code == 0 and "nft -f <table ip netlab: masquerade>" in planned.stdout


def test_load_and_from_dict_rename_a_lab_without_editing_its_text():
    path = TOPOS / "bridge-lan.yaml"
    renamed = netlab.load(path, name="other-lan").validate()
    assert renamed.name == "other-lan" and renamed.source == str(path)
    original = loader.load(path)
    ports = lambda t: {v.b.name for v in t.veths if v.b.master}  # noqa: E731
    assert ports(renamed).isdisjoint(ports(original))  # bridge ports are named for their lab
    assert same(netlab.from_dict(netlab.load(path).to_dict(), name="other-lan").validate(), renamed)
    with pytest.raises(netlab.TopologyError, match="'Not_A_Name' is not a lab name"):
        netlab.load(path, name="Not_A_Name")


def test_load_reports_a_file_s_problems_at_its_lines(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: lab\nnodes:\n  a: {}\n  b: {kind: nosuchkind}\n")
    with pytest.raises(netlab.TopologyError) as err:
        netlab.load(bad, name="other")
    (problem,) = err.value.problems
    assert (problem.file, problem.line, problem.field) == (str(bad), 4, "nodes.b.kind")
    with pytest.raises(netlab.TopologyError, match="No such file"):
        netlab.load(tmp_path / "none.yaml")


def test_from_dict_checks_at_once_and_names_the_field():
    with pytest.raises(netlab.TopologyError) as err:
        netlab.from_dict({"name": "lab", "nodes": {"a": {"forwarding": "maybe"}}})
    assert [p.field for p in err.value.problems] == ["nodes.a.forwarding"]
    assert err.value.problems[0].file == __file__


def test_renamed_is_a_copy():
    one = demo()
    two = one.renamed("demo-two")
    two.node("extra")
    assert one.name == "demo" and "extra" not in one.validate().nodes
    assert two.validate().name == "demo-two" and "extra" in two.validate().nodes


def test_importing_netlab_loads_the_api_only_when_used():
    code = ("import sys, netlab; heavy = [m for m in ('pydantic', 'pyroute2', 'netlab.builder') if m in sys.modules]; "
            "assert not heavy, heavy; netlab.Topology; assert 'netlab.builder' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_public_names_are_all_there():
    for name in netlab.__all__:
        assert getattr(netlab, name).__doc__, name
    with pytest.raises(AttributeError):
        netlab.no_such_name  # noqa: B018
