"""The kernel backend runs a batch of same-op steps as pipelined netlink requests
(many per system call, the kernel going on past a failed one). These tests prove,
with the kernel, that this keeps the all-or-nothing contract: a step that fails in
the middle of a batch is the one named, and nothing of the lab is left."""

from __future__ import annotations

import dataclasses
import json
import re
import resource
import subprocess

import pytest

import netlab
from netlab import deploy, executor, names, ops, state
from netlab import plan as planning
from netlab.backend import netns
from netlab.backend.kernel import KernelBackend
from netlab.bench import deploy as bench
from netlab.errors import NetlabError
from netlab.step import Step

from .helpers import ping

pytestmark = pytest.mark.root
HOSTS = 200


def star(lab: str, hosts: int, member=lambda i: f"h{i}:eth0"):
    """The validated model of ``hosts`` nodes on bridge br0 of node sw."""
    topo = netlab.Topology(lab).node("sw")
    for i in range(hosts):
        topo.node(f"h{i}")
    return topo.bridge("br0", node="sw", subnet="198.18.0.0/22", members=[member(i) for i in range(hosts)]).validate()


def lab_namespaces(lab: str) -> list[str]:
    """The lab's namespaces as the kernel has them: nsfs mounts under /run/netns."""
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split() for line in fh]
    prefix = f"{names.NETNS_DIR}/{names.netns(lab, '')}"
    return [m[4] for m in mounts if m[4].startswith(prefix) and m[m.index("-") + 1] == "nsfs"]


def batch_of(steps: tuple[Step, ...], index: int) -> tuple[int, int]:
    """(first, last) positions of the batch holding step ``index``: same op, consecutive."""
    first = last = index
    while first > 0 and steps[first - 1].op == steps[index].op:
        first -= 1
    while last + 1 < len(steps) and steps[last + 1].op == steps[index].op:
        last += 1
    return first, last


def apply_rolls_back(steps: list[Step], lab: str) -> str:
    """Apply ``steps`` as `up` does; it must fail. Returns the error; checks nothing is left."""
    backend = KernelBackend()
    try:
        with pytest.raises(NetlabError) as err:
            executor.apply(steps, backend)
    finally:
        backend.close()
    assert lab_namespaces(lab) == []
    assert not [ns for ns in netns.listing() if ns.startswith(names.netns(lab, ""))]
    return str(err.value)


def with_member(topo, host: str, **change):
    """``topo`` with ``host``'s bridge member changed past validation (which refuses what the
    kernel refuses): the way to make the kernel fail a request in the middle of a batch."""
    veths = tuple(dataclasses.replace(v, a=dataclasses.replace(v.a, **change)) if v.a.node == host else v
                  for v in topo.veths)
    return dataclasses.replace(topo, veths=veths)


def test_a_duplicate_veth_in_the_middle_of_its_batch_rolls_back_everything(lab_name):
    # h100's member interface is called `lo`: the kernel refuses it (EEXIST) in the
    # middle of the one link.veth batch, after it has made the 100 veths before it
    topo = with_member(star(lab_name, HOSTS), "h100", name="lo")
    steps = planning.build(topo).steps
    failing = next(i for i, s in enumerate(steps) if s.op == "link.veth" and s.args["name"] == "lo")
    first, last = batch_of(steps, failing)
    assert first < failing < last and last - first + 1 == HOSTS
    with pytest.raises(NetlabError) as err:
        deploy.up(topo)
    assert f"step {failing + 1} failed: {ops.describe(steps[failing])}: File exists" in str(err.value)
    assert not state.exists(lab_name) and lab_namespaces(lab_name) == []


def test_an_invalid_mac_in_the_middle_of_the_veth_batch_rolls_back_everything(lab_name):
    # a multicast MAC (validation refuses it; given here past it): the kernel refuses it too
    topo = with_member(star(lab_name, HOSTS), "h150", mac="01:00:5e:00:00:01")
    steps = planning.build(topo).steps
    failing = next(i for i, s in enumerate(steps) if s.op == "link.veth" and s.args["mac"])
    with pytest.raises(NetlabError, match=rf"step {failing + 1} failed: ip -n \S+h150 link add eth0 type veth .*: "
                                          r"Cannot assign requested address"):
        deploy.up(topo)
    assert not state.exists(lab_name) and lab_namespaces(lab_name) == []


def test_a_missing_port_in_the_middle_of_a_chunk_rolls_back_everything(lab_name):
    # Ports with sysctls of their own come up by `link.up` once those are set, from one
    # socket, 64 requests a system call: the kernel goes on past the one that fails, so
    # what follows it in the chunk is undone too.
    ports = {f"net.ipv4.conf.{names.bridge_port(lab_name, 'br0', f'h{i}', 'eth0')}.forwarding": 0
             for i in range(HOSTS)}
    topo = netlab.Topology(lab_name).node("sw", sysctls=ports)
    for i in range(HOSTS):
        topo.node(f"h{i}")
    topo = topo.bridge("br0", node="sw", subnet="198.18.0.0/22", members=[f"h{i}:eth0" for i in range(HOSTS)])
    steps = list(planning.build(topo.validate()).steps)
    ports = [i for i, s in enumerate(steps) if s.op == "link.up" and s.args.get("master")]
    assert len(ports) == HOSTS
    bad = ports[len(ports) // 2]
    steps[bad] = Step("link.up", {**steps[bad].args, "name": "nlpmissing"}, scope=steps[bad].scope)
    error = apply_rolls_back(steps, lab_name)
    assert f"step {bad + 1} failed: ip -n {names.netns(lab_name, 'sw')} link set nlpmissing master br0 up" in error
    assert "No such device" in error


def test_a_missing_bridge_of_a_port_that_comes_up_with_its_pair_rolls_back_everything(lab_name):
    steps = list(planning.build(star(lab_name, HOSTS)).steps)
    veths = [i for i, s in enumerate(steps) if s.op == "link.veth"]
    bad = veths[len(veths) // 2]
    steps[bad] = Step("link.veth", {**steps[bad].args, "peer_master": "nlbrmissing"}, scope=steps[bad].scope)
    error = apply_rolls_back(steps, lab_name)
    assert f"step {bad + 1} failed: {ops.describe(steps[bad])}: no interface nlbrmissing" in error


def test_a_duplicate_address_in_the_middle_of_its_batch_rolls_back_everything(lab_name):
    steps = list(planning.build(star(lab_name, HOSTS)).steps)
    addrs = [i for i, s in enumerate(steps) if s.op == "addr.add"]
    again = addrs[len(addrs) // 2]
    steps.insert(again + 1, steps[again])  # the same address on the same interface twice
    error = apply_rolls_back(steps, lab_name)
    assert f"step {again + 2} failed: {ops.describe(steps[again])}: File exists" in error


def test_down_after_a_partly_applied_plan_removes_everything(lab_name):
    # As after `kill -9` in the middle of up: the record holds the whole plan, the
    # kernel holds a prefix of it that ends inside a batch.
    the_plan = planning.build(star(lab_name, HOSTS))
    veths = [i for i, s in enumerate(the_plan.steps) if s.op == "link.veth"]
    cut = veths[len(veths) // 2]
    state.write(the_plan, "building")
    backend = KernelBackend()
    try:
        executor.apply(the_plan.steps[:cut], backend)
    finally:
        backend.close()
    assert len(lab_namespaces(lab_name)) == HOSTS + 1
    assert deploy.down(lab_name) == []
    assert lab_namespaces(lab_name) == [] and not state.exists(lab_name)


@pytest.mark.slow
def test_300_hosts_on_one_bridge_really_work(lab_name):
    hosts = 300
    topo = bench.topology(hosts, "star", lab_name)
    deploy.up(topo)
    try:
        assert len(lab_namespaces(lab_name)) == hosts + 1
        # read at once: `up` returns when every port forwards, not when the kernel's
        # linkwatch worker gets round to it
        out = subprocess.run(["ip", "-j", "-d", "-n", names.netns(lab_name, "sw"), "link", "show", "master", "br0"],
                             capture_output=True, text=True, check=True).stdout
        ports = json.loads(out)
        assert len(ports) == hosts
        assert all(p["operstate"] == "UP" and p["linkinfo"]["info_slave_data"]["state"] == "forwarding"
                   for p in ports)
        # a dump (not `link show eth0`: asking for one link would apply its pending change)
        dumps = [json.loads(subprocess.run(["ip", "-j", "-n", names.netns(lab_name, f"h{i}"), "link", "show"],
                                           capture_output=True, text=True, check=True).stdout) for i in (1, 150, 300)]
        assert all(e["operstate"] == "UP" for links in dumps for e in links if e["ifname"] == "eth0")
        member = subprocess.run(["ip", "-n", names.netns(lab_name, "h300"), "-o", "addr", "show", "eth0"],
                                capture_output=True, text=True, check=True).stdout
        assert re.search(rf"inet {topo.address_of('h300')}/", member)
        # the hosts keep IPv6 (a link-local address); the switch's ports have none, and no
        # route of theirs is in the switch's IPv6 table (the bridge keeps its own)
        assert re.search(r"inet6 fe80::", member)
        sw = names.netns(lab_name, "sw")
        six = subprocess.run(["ip", "-n", sw, "-6", "-o", "addr", "show"], capture_output=True, text=True,
                             check=True).stdout
        assert not [line for line in six.splitlines() if " nlp" in line]
        routes = subprocess.run(["ip", "-n", sw, "-6", "route", "show", "table", "all"], capture_output=True,
                                text=True, check=True).stdout
        assert " nlp" not in routes and "dev br0" in routes
        assert ping(lab_name, "h1", topo.address_of("h300"))
        assert ping(lab_name, "h300", topo.address_of("h150"))
    finally:
        deploy.down(lab_name)
    assert lab_namespaces(lab_name) == []


def test_a_lab_with_more_namespaces_than_open_files_allowed_comes_up(lab_name):
    # one netlink socket per namespace is kept only while the open-file limit allows
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        deploy.up(star(lab_name, 300))
        assert len(lab_namespaces(lab_name)) == 301
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        if state.exists(lab_name):
            deploy.down(lab_name)
