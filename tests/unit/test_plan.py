"""Plans: ordered steps with inverses, printable like ip(8), never touching the kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from netlab import loader, plan, share

TOPOS = Path(__file__).parents[2] / "topologies"

QUICKSTART = """\
ip netns add nl.quickstart.h1
ip netns add nl.quickstart.h2
ip -n nl.quickstart.h1 link set lo alias netlab:quickstart:h1 up
ip -n nl.quickstart.h2 link set lo alias netlab:quickstart:h2 up
ip -n nl.quickstart.h1 link add eth0 up type veth peer name eth0 netns nl.quickstart.h2
ip -n nl.quickstart.h1 addr add 198.18.0.1/24 dev eth0
ip -n nl.quickstart.h2 addr add 198.18.0.2/24 dev eth0
ip -n nl.quickstart.h2 link set eth0 up"""


def test_quickstart_plan_is_golden():
    assert "\n".join(plan.build(loader.load(TOPOS / "quickstart.yaml")).lines()) == QUICKSTART


def test_every_created_object_has_an_inverse_or_a_namespace_that_holds_it():
    for path in TOPOS.glob("*.yaml"):
        topo = loader.load(path)
        if any(spec.kind not in ("netns", "host") for spec in topo.nodes.values()):
            continue
        # a lab over hosts: each host's share on its own
        for the_plan in [plan.build(share.share(topo, h)) for h in share.spread(topo)] or [plan.build(topo)]:
            namespaces = set(the_plan.namespaces())
            for step in the_plan.steps:
                assert step.undo or step.scope in namespaces, (path.name, step)


def test_nat_plan_orders_stages():
    the_plan = plan.build(loader.load(TOPOS / "nat.yaml"))
    ops = [s.op for s in the_plan.steps]
    first = {op: ops.index(op) for op in dict.fromkeys(ops)}
    assert first["netns.create"] < first["sysctl.set"] < first["link.bridge"] < first["link.veth"]
    assert first["link.veth"] < first["addr.add"] < first["route.add"] < first["nat.apply"]
    nat = next(s for s in the_plan.steps if s.op == "nat.apply")
    assert [r["type"] for r in nat.args["rules"]] == ["masquerade", "dnat"]
    assert nat.args["ns"] == "nl.nat.gw"


def test_two_labs_with_the_same_node_names_do_not_share_a_name():
    text = "nodes: {h1: {}, h2: {}}\nbridges: {br0: {node: h1, members: [h2]}}\n"
    a = plan.build(loader.load_text("name: one\n" + text))
    b = plan.build(loader.load_text("name: two\n" + text))
    names_a = {str(v) for s in a.steps for v in s.args.values()}
    names_b = {str(v) for s in b.steps for v in s.args.values()}
    assert set(a.namespaces()).isdisjoint(b.namespaces())
    ports = lambda steps: {s.args["peer_name"] for s in steps if s.op == "link.veth"}  # noqa: E731
    assert ports(a.steps).isdisjoint(ports(b.steps))
    assert names_a != names_b


def test_rate_limit_and_mtu_are_planned_on_both_ends():
    topo = loader.load_text("name: lab\nnodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a, b], mtu: 1400, rate: 10mbit}\n")
    steps = plan.build(topo).steps
    veth = next(s for s in steps if s.op == "link.veth")
    assert veth.args["mtu"] == 1400 and veth.args["peer_mtu"] == 1400
    assert [s.args["dev"] for s in steps if s.op == "qdisc.tbf"] == ["eth0", "eth0"]


def test_the_real_host_only_gets_objects_it_can_give_back():
    topo = loader.load_text("name: lab\nnodes:\n  me: {kind: host}\n  h1: {}\n"
                            "links:\n  - endpoints: [{node: me, interface: nlhost0}, h1:eth0]\n")
    steps = plan.build(topo).steps
    assert not [s for s in steps if s.op in ("netns.create", "sysctl.set", "nat.apply")
                and s.args.get("ns") is None]
    root = [s for s in steps if s.args.get("ns") is None]
    assert [s.op for s in root] == ["link.veth", "addr.add", "link.up"]
    veth = root[0]
    # the pair dies with h1's namespace, so even a crash cannot strand it in the root namespace
    assert veth.undo == "link.delete" and veth.scope == "nl.lab.h1"
    assert root[1].undo == "addr.delete"


def test_one_end_comes_up_with_its_pair_and_the_other_after_the_addresses():
    from netlab.bench.deploy import topology

    steps = plan.build(topology(3, lab="lab")).steps
    ops = [s.op for s in steps]
    veths = [s for s in steps if s.op == "link.veth"]
    # the bridge port comes up enslaved in the pair's own message; the host's end stays down
    assert all(v.args["peer_up"] and v.args["peer_master"] == "br0" and not v.args["up"] for v in veths)
    ups = [s for s in steps if s.op == "link.up"]
    assert [u.args["name"] for u in ups] == ["eth0"] * 3 + ["br0"]
    # each host's end names the port, whose carrier the backend applies after it
    assert [(u.args["peer_ns"], u.args["peer_name"]) for u in ups[:3]] == [(v.args["peer_ns"], v.args["peer_name"])
                                                                           for v in veths]
    assert max(i for i, op in enumerate(ops) if op == "addr.add") < ops.index("link.up")


def test_an_iface_is_made_as_its_dataclass_would_make_it():
    """resolve.Iface writes its own __init__ (for speed): its parameters are its fields,
    in order, with their defaults, and it stays frozen and comparable."""
    import dataclasses
    import inspect

    from netlab.resolve import Iface

    fields = [(f.name, f.default) for f in dataclasses.fields(Iface)]
    params = [(p.name, p.default if p.default is not inspect.Parameter.empty else dataclasses.MISSING)
              for p in list(inspect.signature(Iface.__init__).parameters.values())[1:]]
    assert params == fields
    a = Iface("h1", "eth0", mtu=1400)
    assert a == Iface(node="h1", name="eth0", mtu=1400) and hash(a) == hash(Iface("h1", "eth0", mtu=1400))
    assert dataclasses.replace(a, mtu=9000).mtu == 9000 and a.mtu == 1400
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.mtu = 1  # type: ignore[misc]
