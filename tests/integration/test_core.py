"""The core, proved with the kernel: every example topology is built, carries
real traffic, and is taken down without a trace."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from netlab import deploy, loader, names, state, status
from netlab import node as nodeexec
from netlab.backend import netns
from netlab.errors import LabExists, NetlabError

from .helpers import TcpServer, ping, ping_output, tcp_fetch, tcp_stream_rate

pytestmark = pytest.mark.root
TOPOS = Path(__file__).parents[2] / "topologies"


def example(name: str) -> str:
    return (TOPOS / f"{name}.yaml").read_text()


def test_quickstart_pings_across_a_veth(build, lab_name):
    build(example("quickstart"))
    assert ping(lab_name, "h1", "198.18.0.2", count=2)
    assert netns.exists(names.netns(lab_name, "h1")) and netns.exists(names.netns(lab_name, "h2"))


def test_bridge_lan_every_host_reaches_every_other(build, lab_name):
    topo = build(example("bridge-lan"))
    hosts = ["h1", "h2", "h3"]
    for a in hosts:
        for b in hosts:
            if a != b:
                assert ping(lab_name, a, topo.address_of(b)), f"{a} -> {b}"
    view = status.lab_status(lab_name)["nodes"]["sw"]
    ports = [i for i in view["interfaces"] if i["master"] == "br0"]
    assert len(ports) == 3 and all(i["state"] == "UP" for i in ports)


def test_routed_hop_decrements_ttl(build, lab_name):
    build(example("routed"))
    out = ping_output(lab_name, "h1", "198.18.2.2")
    assert "ttl=63" in out, out  # one forwarding hop through r1


def test_nat_masquerades_towards_the_outside(build, lab_name):
    build(example("nat"))
    with TcpServer(lab_name, "outside", 9000) as server:
        assert tcp_fetch(lab_name, "h1", "203.0.113.2", 9000) == b"hello\n"
        assert tcp_fetch(lab_name, "h2", "203.0.113.2", 9000) == b"hello\n"
    # the outside world never sees the hosts' own 198.18.0.x addresses
    assert server.peers == ["203.0.113.1", "203.0.113.1"]


def test_dnat_port_forward_answers_from_the_outside(build, lab_name):
    build(example("nat"))
    with TcpServer(lab_name, "h1", 80, reply=b"from h1\n") as server:
        assert tcp_fetch(lab_name, "outside", "203.0.113.1", 8080) == b"from h1\n"
    assert server.peers == ["203.0.113.2"]
    rules = status.lab_status(lab_name)["nodes"]["gw"]["nftables"]
    assert sum(1 for o in rules if "rule" in o) == 2


def test_mtu_is_set_on_both_ends(build, lab_name):
    build("nodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a:eth0, b:eth0], mtu: 1400}\n")
    for node in ("a", "b"):
        view = status.lab_status(lab_name)["nodes"][node]
        (eth0,) = [i for i in view["interfaces"] if i["name"] == "eth0"]
        assert eth0["mtu"] == 1400
    # 1372 + 28 = 1400 passes unfragmented; 1373 does not fit with DF set
    ok = nodeexec.run(lab_name, "a", ["ping", "-c1", "-W2", "-M", "do", "-s", "1372", "198.19.0.2"], capture=True)
    too_big = nodeexec.run(lab_name, "a", ["ping", "-c1", "-W2", "-M", "do", "-s", "1373", "198.19.0.2"],
                           capture=True)
    assert ok.returncode == 0 and too_big.returncode != 0


def test_rate_limit_caps_a_tcp_stream(build, lab_name):
    build("nodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a:eth0, b:eth0], rate: 20mbit}\n")
    with TcpServer(lab_name, "b", 5201):
        rate = tcp_stream_rate(lab_name, "a", "198.19.0.2", 5201, seconds=2.0)
    # tbf at 20 Mbit/s: what leaves the sender's buffer averages near the rate
    assert 8e6 < rate < 26e6, f"{rate / 1e6:.1f} Mbit/s"


def ping_soon(lab: str, node: str, addr: str, seconds: float = 5) -> bool:
    """A ping from ``node`` answered within ``seconds``: IPv6 duplicate address detection takes a moment."""
    deadline = time.time() + seconds
    while time.time() < deadline and not ping(lab, node, addr):
        time.sleep(0.3)
    return ping(lab, node, addr)


def test_ipv6_addresses_from_a_pool(build, lab_name):
    topo = build('pools:\n  p2p: {ipv4: 198.19.0.0/16, prefix: 30, ipv6: "2001:2::/48", prefix6: 64}\n'
                 "nodes: {a: {}, b: {}}\nlinks: [[a, b]]\n")
    addr = topo.address_of("b", version=6)
    assert ping_soon(lab_name, "a", addr)


def test_ipv6_crosses_a_bridge_whose_ports_have_none(build, lab_name):
    """netlab makes a bridge's ports without IPv6 (they hand every frame to the bridge):
    the hosts' IPv6 still crosses it, and the switch holds no IPv6 address on a port."""
    topo = build('pools:\n  lan: {ipv4: 198.19.0.0/16, prefix: 24, ipv6: "2001:2::/48", prefix6: 64}\n'
                 "nodes: {sw: {}, h1: {}, h2: {}}\nbridges:\n  br0: {node: sw, members: [h1:eth0, h2:eth0]}\n")
    addr = topo.address_of("h2", version=6)
    assert ping_soon(lab_name, "h1", addr)
    links = json.loads(nodeexec.run(lab_name, "sw", ["ip", "-j", "link", "show", "master", "br0"], capture=True).stdout)
    ports = [link["ifname"] for link in links]
    assert len(ports) == 2
    for port in ports:
        off = nodeexec.run(lab_name, "sw", ["cat", f"/proc/sys/net/ipv6/conf/{port}/disable_ipv6"], capture=True)
        assert off.stdout.strip() == b"1", port
        shown = nodeexec.run(lab_name, "sw", ["ip", "-j", "-6", "addr", "show", "dev", port], capture=True).stdout
        assert not any(a.get("addr_info") for a in json.loads(shown or b"[]")), shown


def test_sysctls_and_forwarding_stay_inside_the_node(build, lab_name):
    before = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    build("nodes:\n  r: {forwarding: true, sysctls: {net.ipv4.tcp_syncookies: 0}}\n  h: {}\nlinks: [[r, h]]\n")
    out = nodeexec.run(lab_name, "r", ["cat", "/proc/sys/net/ipv4/ip_forward", "/proc/sys/net/ipv4/tcp_syncookies"],
                       capture=True).stdout.split()
    assert out == [b"1", b"0"]
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before


def test_failure_in_the_middle_of_up_leaves_nothing(lab_name):
    topo = loader.load_text(f"name: {lab_name}\nnodes:\n  a: {{}}\n  b: {{}}\n  c: {{}}\nlinks: [[a, b], [b, c]]\n")
    # b's second veth end gets a multicast MAC past validation (which refuses it): the kernel refuses it
    # after the namespaces and the first pair are made
    last = topo.veths[-1]
    topo = dataclasses.replace(topo, veths=topo.veths[:-1] + (
        dataclasses.replace(last, a=dataclasses.replace(last.a, mac="01:00:5e:00:00:01")),))
    with pytest.raises(NetlabError, match=r"step \d+ failed: .*Cannot assign requested address.*undone"):
        deploy.up(topo)
    assert not state.exists(lab_name)
    assert not [ns for ns in netns.listing() if ns.startswith(f"nl.{lab_name}.")]


def test_a_failing_command_rolls_back_the_whole_lab(lab_name):
    topo = loader.load_text(f"name: {lab_name}\nnodes:\n  a: {{exec: [ip link set lo up, 'false']}}\n  b: {{}}\n"
                            "bridges: {br0: {node: a, members: [b]}}\n")
    with pytest.raises(NetlabError, match="`false` in a exited 1"):
        deploy.up(topo)
    assert not [ns for ns in netns.listing() if ns.startswith(f"nl.{lab_name}.")]


def test_two_labs_with_the_same_node_names_live_side_by_side(lab_name):
    other = lab_name + "b"
    text = example("quickstart").replace("name: quickstart", "")
    one = loader.load_text(f"name: {lab_name}\n{text}")
    two = loader.load_text(f"name: {other}\n{text}")
    deploy.up(one)
    try:
        deploy.up(two)
        try:
            assert ping(lab_name, "h1", "198.18.0.2") and ping(other, "h1", "198.18.0.2")
        finally:
            deploy.down(other)
    finally:
        deploy.down(lab_name)


def test_up_twice_is_refused(build, lab_name):
    topo = build(example("quickstart"))
    with pytest.raises(LabExists):
        deploy.up(topo)


def test_down_works_without_the_state_record(lab_name):
    deploy.up(loader.load_text(f"name: {lab_name}\n" + example("quickstart").replace("name: quickstart", "")))
    os.unlink(names.state_file(lab_name))  # as if /run/netlab was lost
    assert deploy.down(lab_name) == []


@pytest.mark.slow
@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6])
def test_kill_9_during_up_then_down_leaves_nothing(tmp_path, lab_name, delay):
    nodes = "\n".join(f"  h{i}: {{}}" for i in range(60))
    members = ", ".join(f"h{i}" for i in range(60))
    topo = tmp_path / "big.yaml"
    topo.write_text(f"name: {lab_name}\nnodes:\n  sw: {{forwarding: true}}\n{nodes}\n"
                    f"bridges:\n  br0: {{node: sw, gateway: true, members: [{members}]}}\n")
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "up", str(topo)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    down = subprocess.run([sys.executable, "-m", "netlab", "down", lab_name, "--json"], capture_output=True, text=True)
    if down.returncode != 0 and "no lab named" in down.stdout:
        pass  # killed before the state record was written: nothing was built
    else:
        assert json.loads(down.stdout)["ok"], down.stdout


def test_cli_up_status_exec_down(tmp_path, lab_name):
    topo = tmp_path / "q.yaml"
    topo.write_text(example("quickstart").replace("name: quickstart", f"name: {lab_name}"))
    run = lambda *a: subprocess.run([sys.executable, "-m", "netlab", *a], capture_output=True, text=True)  # noqa: E731
    up = run("up", str(topo), "--json")
    assert up.returncode == 0, up.stderr
    try:
        view = json.loads(run("status", lab_name, "--json").stdout)
        addrs = [a for i in view["nodes"]["h2"]["interfaces"] for a in i["addresses"]]
        assert "198.18.0.2/24" in addrs
        assert run("exec", lab_name, "h1", "--", "ping", "-c1", "-W2", "198.18.0.2").returncode == 0
        assert run("exec", lab_name, "h1", "--", "false").returncode == 1
        captured = json.loads(run("exec", lab_name, "h2", "--json", "--", "cat", "/proc/sys/net/ipv4/ip_forward").stdout)
        assert captured == {"returncode": 0, "stdout": "0\n", "stderr": ""}
        listed = json.loads(run("list", "--json").stdout)
        assert any(entry["name"] == lab_name and entry["status"] == "up" for entry in listed)
    finally:
        down = run("down", lab_name, "--json")
    assert down.returncode == 0 and json.loads(down.stdout)["ok"]


def test_loss_drops_about_the_share_asked_for(build, lab_name):
    build("nodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a:eth0, b:eth0], loss: 30%}\n")
    # ARP is dropped too (as netem would): resolve the neighbour first, or the burst
    # queues behind an unanswered ARP request and is lost as a whole
    assert any(ping(lab_name, "a", "198.19.0.2") for _ in range(20))
    out = nodeexec.run(lab_name, "a", ["ping", "-q", "-c", "200", "-i", "0.002", "-W", "1", "198.19.0.2"],
                       capture=True, timeout=30).stdout.decode()
    received = int(out.split(" received")[0].rsplit(" ", 1)[1])
    # 30 % each way: a ping survives with 0.7 × 0.7 = 49 %; 200 draws keep it well inside 30–70 %
    assert 60 <= received <= 140, out


def test_delay_needs_netem_and_says_so(lab_name):
    from netlab.backend import features
    from netlab.errors import FeatureMissing

    topo = loader.load_text(f"name: {lab_name}\nnodes: {{a: {{}}, b: {{}}}}\n"
                            "links:\n  - {endpoints: [a, b], delay: 20ms}\n")
    if features.probe()["qdisc:netem"] is None:
        deploy.up(topo)
        try:
            out = ping_output(lab_name, "a", "198.19.0.2")
            rtt = float(out.split("time=")[1].split()[0])
            assert rtt >= 40, out  # 20 ms each way
        finally:
            deploy.down(lab_name)
        return
    with pytest.raises(FeatureMissing, match=r"qdisc:netem .*needed by: .*netem delay 20ms"):
        deploy.up(topo)
    assert not state.exists(lab_name)
