"""A lab over several machines, without a kernel: `hosts:` checked at its place, each
host's share planned, cross-host links as VXLAN devices both hosts agree on."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netlab import loader, plan, share
from netlab.cli import app
from netlab.errors import TopologyError, UsageError

SPLIT = Path(__file__).resolve().parents[2] / "topologies" / "multihost" / "split.yaml"
runner = CliRunner()


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        loader.load_text(text, "topo.yaml")
    return [str(p) for p in info.value.problems]


def test_every_node_on_a_host_that_exists_and_every_underlay_its_own():
    found = problems("""name: lab
hosts:
  a: {underlay: 198.18.255.1}
  b: {underlay: 198.18.255.1}
nodes:
  h1: {host: a}
  h2: {host: c}
  h3: {}
""")
    assert "topo.yaml:7:8: nodes.h2.host: no host named 'c' (hosts: a, b)" in found
    assert any(p.startswith("topo.yaml:8:3: nodes.h3: a lab with `hosts:` places every node") for p in found)
    assert ("topo.yaml:4:7: hosts.b.underlay: 198.18.255.1 is already the underlay of host a: each host needs "
            "its own") in found


def test_a_host_without_hosts_and_a_tunnel_over_two_ports_are_refused():
    (p,) = problems("name: lab\nnodes:\n  h1: {host: a}\n")
    assert p == "topo.yaml:3:8: nodes.h1.host: no host named 'a' (hosts: none: the file has no `hosts:`)"
    (p,) = problems("""name: lab
hosts: {a: {underlay: 198.18.255.1}, b: {underlay: 198.18.255.2, vxlan_port: 8472}}
nodes: {h1: {host: a}, h2: {host: b}}
links: [[h1, h2]]
""")
    assert p.startswith("topo.yaml:4:9: links[0]: hosts a (vxlan_port 4789) and b (vxlan_port 8472)")
    (p,) = problems("name: lab\nhosts: {a: {underlay: 198.18.255.1, ssh: -oProxyCommand=x}}\nnodes: {h1: {host: a}}\n")
    assert "hosts.a.ssh: '-oProxyCommand=x' is not an ssh destination" in p


def test_no_hosts_plans_as_before():
    text = "name: lab\nnodes: {a: {}, b: {}}\nlinks: [[a, b]]\n"
    steps = plan.build(loader.load_text(text)).steps
    assert "link.vxlan" not in {s.op for s in steps}
    with pytest.raises(UsageError, match="no `hosts:`"):
        share.share(loader.load_text(text), "a")


def test_each_share_holds_its_nodes_and_a_vxlan_end_per_cross_host_link():
    topo = loader.load(SPLIT)
    with pytest.raises(UsageError, match="spread over hosts a, b"):
        plan.build(topo)
    a, b = (plan.build(share.share(topo, h)) for h in "ab")
    assert set(a.namespaces()) == {"nl.split.gw", "nl.split.h1", "nl.split.outside"}
    assert b.namespaces() == ["nl.split.h2"]
    ends_a = {s.args["vni"]: s.args for s in a.steps if s.op == "link.vxlan"}
    ends_b = {s.args["vni"]: s.args for s in b.steps if s.op == "link.vxlan"}
    assert ends_a.keys() == ends_b.keys() and len(ends_a) == 2  # the p2p link and h2's bridge port
    for vni, here in ends_a.items():
        there = ends_b[vni]
        assert (here["local"], here["remote"]) == ("198.18.255.1", "198.18.255.2")
        assert (there["local"], there["remote"]) == ("198.18.255.2", "198.18.255.1")
        assert here["port"] == there["port"] == 4789 and here["mtu"] == there["mtu"] == 1450
    # the bridge's local member gets the tunnel's MTU too: one LAN, one MTU
    veth = next(s for s in a.steps if s.op == "link.veth" and s.args["ns"] == "nl.split.h1")
    assert veth.args["mtu"] == veth.args["peer_mtu"] == 1450
    # the remote member's port is enslaved on host a, its address set on host b
    assert any(s.op == "link.up" and s.args.get("master") == "br0" and s.args["name"] in
               {e["name"] for e in ends_a.values()} for s in a.steps)
    assert {s.args["dev"] for s in b.steps if s.op == "addr.add"} == {"eth0", "eth1"}
    assert all(s.undo or s.scope in b.namespaces() for s in b.steps)


def test_vni_is_the_same_from_the_same_file_and_differs_by_lab():
    one = loader.load(SPLIT)
    other = loader.load_text(SPLIT.read_text().replace("name: split", "name: split2"))
    vnis = [{v.tunnel.vni for v in t.veths if v.tunnel} for t in (one, loader.load(SPLIT), other)]
    assert vnis[0] == vnis[1] and not vnis[0] & vnis[2]
    assert all(0 < vni < 1 << 24 for vni in vnis[0])


def test_underlay_addresses_are_never_handed_out_by_a_pool():
    text = """name: lab
hosts: {a: {underlay: 198.18.0.1}, b: {underlay: 198.18.0.2}}
nodes: {gw: {host: a}, h1: {host: b}}
bridges: {br0: {node: gw, address: auto, members: [h1]}}
"""
    (bridge,) = loader.load_text(text).bridges
    assert str(bridge.addresses[0]) == "198.18.1.1/24"


def test_cli_plan_for_one_host_and_for_all():
    one = runner.invoke(app, ["plan", str(SPLIT), "--host", "b"])
    assert one.exit_code == 0, one.output
    assert one.output.startswith("# host b (198.18.255.2): nodes h2; 2 VXLAN tunnel(s), UDP 4789, MTU 1450")
    assert "type vxlan id" in one.output and "nl.split.gw" not in one.output
    both = runner.invoke(app, ["plan", str(SPLIT), "--json"])
    assert set(json.loads(both.stdout)["hosts"]) == {"a", "b"}
    wrong = runner.invoke(app, ["plan", str(SPLIT), "--host", "c"])
    assert wrong.exit_code != 0 and "no host named 'c' (hosts: a, b)" in wrong.output


def test_builder_places_nodes_on_hosts():
    import netlab

    topo = (netlab.Topology("x").host("a", "198.18.255.1").host("b", "198.18.255.2", vxlan_port=8472)
            .node("h1", host="a").node("h2", host="b").link("h1", "h2"))
    with pytest.raises(TopologyError, match="both ends of a tunnel use one port"):
        topo.validate()
    topo = netlab.from_dict({**topo.to_dict(), "hosts": {"a": {"underlay": "198.18.255.1"},
                                                         "b": {"underlay": "198.18.255.2"}}})
    assert topo.validate().placement == {"h1": "a", "h2": "b"}


def test_hosts_simulated_here_get_one_plan_with_each_tunnel_made_in_its_hosts_stand_in():
    import dataclasses

    topo = loader.load(Path(__file__).resolve().parents[2] / "topologies" / "paths-vxlan.yaml")
    simulated = dataclasses.replace(topo, stand_ins={"a": "nl.u.a", "b": "nl.u.b"})
    the_plan = plan.build(simulated)
    ends = {s.args["ns"]: s for s in the_plan.steps if s.op == "link.vxlan"}
    assert {n: s.args["underlay"] for n, s in ends.items()} == {"nl.bench-paths-vxlan.vc": "nl.u.a",
                                                                 "nl.bench-paths-vxlan.vs": "nl.u.b"}
    assert the_plan.lines()[the_plan.steps.index(ends["nl.bench-paths-vxlan.vc"])].startswith(
        "ip -n nl.u.a link add eth0 netns nl.bench-paths-vxlan.vc type vxlan id")


def test_remote_hosts_and_how_ssh_is_called(monkeypatch):
    import subprocess

    from netlab import remote

    here, far = remote.remotes(loader.load(SPLIT))
    assert here == "a" and [(r.name, r.ssh, r.netlab) for r in far] == [("b", "root@198.18.255.2", "netlab")]
    monkeypatch.setenv(remote.SSH_ENV, "ssh -i '/keys/my key'")
    argv = remote.Remote("b", "root@b", "/opt/net lab/netlab").argv("exec", "lab", "h2", "--", "echo", "a b")
    assert argv[:3] == ["ssh", "-i", "/keys/my key"] and argv[-3:-1] == ["root@b", "--"]
    assert argv[-1] == "'/opt/net lab/netlab' exec lab h2 -- echo 'a b'"  # one string, each word quoted
    answer = subprocess.CompletedProcess([], 2, '{"ok": false, "error": "x.yaml:1:1: name: bad"}', "")
    assert remote.Remote("b", "root@b").why(answer) == "host b (root@b): x.yaml:1:1: name: bad"
    two_here = SPLIT.read_text().replace(", ssh: root@198.18.255.2", "")
    with pytest.raises(UsageError, match="hosts a, b of lab split have no `ssh:`"):
        remote.remotes(loader.load_text(two_here))
