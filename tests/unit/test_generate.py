"""Topology generators without root: every output validates, fits the kernel's
limits and the benchmark address range, and reads back as the same lab."""

from __future__ import annotations

import collections
import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netlab import generate, loader, names
from netlab.cli import app
from netlab.errors import TopologyError
from netlab.generate import lan

runner = CliRunner()
NETLAB = str(Path(sys.executable).parent / "netlab")  # stdin is read from fd 0: a real process
BENCH = ipaddress.ip_network("198.18.0.0/15")
OUTSIDE = ipaddress.ip_network("203.0.113.0/24")

CASES = [("star", (1,)), ("star", (500,)), ("star", (1023,)), ("star", (1024,)), ("star", (3000,)),
         ("linear", (1, 1)), ("linear", (8, 2)), ("linear", (62, 3)), ("linear", (3, 1500)),
         ("tree", (1, 1)), ("tree", (3, 4)), ("tree", (1, 1023)), ("tree", (2, 100)), ("tree", (6, 2)),
         ("clos", (1, 1, 1)), ("clos", (2, 4, 8)), ("clos", (4, 32, 60)), ("clos", (3, 5, 1100)),
         ("nat", (1,)), ("nat", (200,)), ("nat", (2500,))]


@pytest.mark.parametrize("shape,args", CASES, ids=[f"{s}{a}" for s, a in CASES])
def test_every_generated_lab_validates_within_the_kernels_limits(shape, args):
    data = generate.GENERATORS[shape](*args)
    topo = loader.load_data(data, shape)
    ports = collections.Counter(e.master for v in topo.veths for e in (v.a, v.b) if e.master)
    assert max(ports.values(), default=0) <= (lan.PORTS_PER_BRIDGE if shape != "tree" else lan.BRIDGE_PORTS)
    for v in topo.veths:
        for e in (v.a, v.b):
            assert len(e.name) <= names.IFNAMSIZ
            for a in e.addresses:
                assert a.network.subnet_of(BENCH) or a.network.subnet_of(OUTSIDE), a
    text = generate.to_yaml(data)
    if len(topo.nodes) <= 300:  # written as YAML and read back, it is the same lab (reading is the slow part)
        again = loader.load_text(text, shape)
        assert again.veths == topo.veths and again.routes == topo.routes and again.bridges == topo.bridges


def test_a_big_star_is_bridges_of_at_most_500_ports_joined_by_trunks():
    assert lan.bridge_count(500) == 1 and lan.bridge_count(501) == 2
    data = generate.star(3000)
    assert list(data["bridges"]) == [f"br{k}" for k in range(lan.bridge_count(3000))] and len(data["bridges"]) == 7
    assert all(b["trunks"] == ["br0"] for name, b in data["bridges"].items() if name != "br0")
    topo = loader.load_data(data)
    ports = collections.Counter(e.master for v in topo.veths for e in (v.a, v.b) if e.master)
    assert max(ports.values()) == lan.PORTS_PER_BRIDGE  # br0: its hosts and a trunk to each other bridge
    hosts = {e.node for v in topo.veths for e in (v.a, v.b) if e.node.startswith("h")}
    assert len(hosts) == 3000
    # one LAN: every host in the same subnet
    assert {topo.address_of(h).packed[:2] for h in hosts} == {bytes([198, 18])}


def test_linear_routes_every_lan_from_every_router():
    topo = loader.load_data(generate.linear(5, 2))
    lans = {ipaddress.ip_network(b["subnet"]) for b in generate.linear(5, 2)["bridges"].values()}
    for r in ("r1", "r3", "r5"):
        routed = {route.to for route in topo.routes[r]}
        connected = {a.network for i in topo.interfaces(r) for a in i.addresses}
        assert lans <= routed | connected
    assert [str(r.via) for r in topo.routes["h3-2"]] == ["198.18.2.1"]  # default via its router


def test_clos_spreads_leaf_pairs_over_the_spines_symmetrically():
    data = generate.clos(2, 4, 1)
    topo = loader.load_data(data)
    via = {}
    for leaf in ("l1", "l2", "l3", "l4"):
        for route in topo.routes[leaf]:
            spine = next(i.node for v in topo.veths for i in (v.a, v.b) for a in i.addresses if a.ip == route.via)
            via[leaf, str(route.to)] = spine
    assert via["l1", "198.18.1.0/24"] == via["l2", "198.18.0.0/24"]  # both ways through one spine
    assert set(via.values()) == {"s1", "s2"}


def test_nat_forwards_to_h1_and_masquerades_the_lan():
    data = generate.nat(5)
    gw = data["nodes"]["gw"]
    assert gw["forwarding"] is True
    topo = loader.load_data(data)
    assert str(topo.address_of("h1")) == gw["nat"][1]["to"].split(":")[0]
    assert gw["nat"][0]["source"] == data["bridges"]["br0"]["subnet"]


@pytest.mark.parametrize("shape,args,words", [
    ("linear", (63, 1), "TTL"), ("tree", (2, 1023), "1024"), ("clos", (2, 300, 300), "198.18.0.0/16"),
    ("star", (0,), "at least 1"), ("tree", (9, 4), "do not fit"), ("nat", (70000,), "do not fit")])
def test_impossible_parameters_are_refused_with_the_reason(shape, args, words):
    with pytest.raises(generate.GenerateError, match=words):
        generate.GENERATORS[shape](*args)


def test_generate_cli_prints_editable_yaml_that_validate_reads_from_stdin():
    out = runner.invoke(app, ["generate", "clos", "--spines", "2", "--leaves", "3", "--name", "fab"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("# netlab generate clos --spines 2 --leaves 3 --hosts-per-leaf 1 --name fab\n")
    assert "      - {to: 198.18.1.0/24, via: 198.19.0.6}\n" in out.stdout  # one route a line
    checked = subprocess.run([NETLAB, "validate", "-"], input=out.stdout, capture_output=True, text=True)
    assert checked.returncode == 0 and "<stdin>: ok (lab fab, 8 nodes)" in checked.stdout


def test_generate_cli_refuses_bad_parameters_without_a_traceback():
    out = runner.invoke(app, ["generate", "linear", "--routers", "100"])
    assert out.exit_code == 2 and "from 1 to 62" in out.output and "Traceback" not in out.output
    out = runner.invoke(app, ["generate", "star", "--hosts", "3", "--name", "Bad_Name"])
    assert out.exit_code == 2 and "not a lab name" in out.output


def test_plan_reads_standard_input():
    out = subprocess.run([NETLAB, "plan", "-"], input=generate.to_yaml(generate.star(2)), capture_output=True,
                         text=True)
    assert out.returncode == 0 and "ip netns add nl.star.h2" in out.stdout


# -- trunks between bridges, as any file may use them ---------------------------------
def _bridges(extra: str) -> str:
    return "name: t\nnodes: {sw: {}, h1: {}, h2: {}}\nbridges:\n" + extra


def test_a_gateway_serves_the_members_of_bridges_trunked_to_it():
    topo = loader.load_text(_bridges("  a: {node: sw, subnet: 198.18.7.0/24, address: 198.18.7.1/24, gateway: true,"
                                     " members: [h1:eth0]}\n  b: {node: sw, trunks: [a], members: [h2:eth0]}\n"))
    assert [str(r.via) for r in topo.routes["h2"]] == ["198.18.7.1"]
    assert str(topo.address_of("h2")) == "198.18.7.3"
    (trunk,) = [v for v in topo.veths if v.a.master and v.b.master]
    assert {trunk.a.master, trunk.b.master} == {"a", "b"}


@pytest.mark.parametrize("extra,where,words", [
    ("  a: {node: sw, trunks: [zz]}\n", "bridges.a.trunks[0]", "no bridge named 'zz'"),
    ("  a: {node: sw, trunks: [a]}\n", "bridges.a.trunks[0]", "itself"),
    ("  a: {node: sw}\n  b: {node: sw, trunks: [a]}\n  c: {node: sw, trunks: [a, b]}\n", "bridges.c.trunks[1]",
     "loop"),
    ("  a: {node: sw, subnet: 198.18.1.0/24}\n  b: {node: sw, trunks: [a], subnet: 198.18.2.0/24}\n",
     "bridges.b.subnet", "one LAN has one subnet")])
def test_trunk_mistakes_are_reported_at_their_field(extra, where, words):
    with pytest.raises(TopologyError) as err:
        loader.load_text(_bridges(extra), "t.yaml")
    assert any(p.field == where and words in p.message for p in err.value.problems), err.value


def test_a_loop_of_trunks_is_accepted_with_stp():
    loader.load_text(_bridges("  a: {node: sw, stp: true}\n  b: {node: sw, stp: true, trunks: [a]}\n"
                              "  c: {node: sw, stp: true, trunks: [a, b]}\n"))
