"""A lab over two machines, simulated on this one (tests/integration/simhosts.py): each
host builds its share by hand (`netlab up FILE --host NAME`), and the shares talk across
the underlay through VXLAN: a p2p link, a bridge with a remote member, NAT on host a for
a node on host b. `down` on each host leaves nothing on it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from netlab import loader, plan, share
from tests.integration import simhosts

pytestmark = pytest.mark.root
SPLIT = Path(__file__).resolve().parents[2] / "topologies" / "multihost" / "split.yaml"


@pytest.fixture
def sim():
    with simhosts.hosts(2) as made:
        yield made
        left = {h.name: h.leftovers() for h in made}
    assert not any(left.values()), f"left behind: {left}"


def split_file(tmp_path: Path, **change: str) -> tuple[Path, str]:
    """The shipped two-host example under a lab name of this test's, ``change``s applied."""
    lab = f"mh{uuid.uuid4().hex[:8]}"
    text = SPLIT.read_text().replace("name: split", f"name: {lab}")
    for old, new in change.items():
        text = text.replace(old, new)
    path = tmp_path / "split.yaml"
    path.write_text(text)
    return path, lab


def address(topo, node: str, ifname: str) -> str:
    return str(next(i for i in topo.interfaces(node) if i.name == ifname).addresses[0].ip)


def test_shares_built_by_hand_talk_across_hosts(sim, tmp_path):
    a, b = sim
    path, lab = split_file(tmp_path)
    topo = loader.load(path)
    try:
        for h in (a, b):
            built = h.netlab("up", str(path), "--host", h.name)
            assert built.returncode == 0, built.stderr
        # the p2p link h1–h2 and h2's bridge port: full-size frames at the tunnel's MTU
        assert simhosts.ping(b, lab, "h2", address(topo, "h1", "eth1"), size=1450 - 28)
        assert simhosts.ping(b, lab, "h2", address(topo, "h1", "eth0"), size=1450 - 28)
        assert not simhosts.ping(b, lab, "h2", address(topo, "h1", "eth1"), size=1451 - 28)
        assert simhosts.stream(lab, (a, "h1"), (b, "h2"), address(topo, "h1", "eth1")) == \
            (address(topo, "h2", "eth1"), 4 << 20)
        assert simhosts.stream(lab, (a, "h1"), (b, "h2"), address(topo, "h1", "eth0"))[1] == 4 << 20
        # NAT on host a for a node on host b: outside sees the gateway's address
        assert simhosts.stream(lab, (a, "outside"), (b, "h2"), "203.0.113.2") == ("203.0.113.1", 4 << 20)
        listed = a.netlab("list", "--json")
        assert lab in listed.stdout
    finally:
        downs = [h.netlab("down", lab) for h in (a, b)]
    assert all(d.returncode == 0 for d in downs), [d.stderr for d in downs]


@pytest.fixture
def driven(sim, tmp_path):
    """Host b with an ssh server on its underlay address; (hosts, env for host a's netlab)."""
    a, b = sim
    assert simhosts.has(simhosts.SSHD), "no sshd: scripts/install-system.sh installs openssh-server"
    env = {"NETLAB_SSH_COMMAND": simhosts.ssh_keys(tmp_path, sim)}
    simhosts.sshd(b, tmp_path)
    return sim, env


def driven_file(tmp_path: Path, **change: str) -> tuple[Path, str]:
    """The example, host b driven over ssh by the worktree's netlab."""
    return split_file(tmp_path, **{"ssh: root@198.18.255.2}": f"ssh: root@198.18.255.2, netlab: {simhosts.NETLAB}}}",
                                   **change})


def steps_of(topo, *hosts: str) -> dict[str, int]:
    return {h: len(plan.build(share.share(topo, h)).steps) for h in hosts}


def test_up_over_ssh_builds_both_hosts_and_down_leaves_nothing(driven, tmp_path):
    (a, b), env = driven
    path, lab = driven_file(tmp_path)
    topo = loader.load(path)
    built = a.netlab("up", str(path), "--json", env=env)
    try:
        assert built.returncode == 0, built.stderr
        assert json.loads(built.stdout)["hosts"] == steps_of(topo, "a", "b")  # each host built its whole share
        assert lab in b.netlab("list").stdout  # b's own record of its share
        # exec, from host a, in a node on host b: across the p2p link; across the bridge to the
        # gateway, NAT on host a for a node on host b
        assert simhosts.ping(a, lab, "h2", address(topo, "h1", "eth1"), size=1450 - 28, env=env)
        assert simhosts.stream(lab, (a, "outside"), (a, "h2"), "203.0.113.2", env=env) == ("203.0.113.1", 4 << 20)
        listed = json.loads(a.netlab("list", "--json", env=env).stdout)
        assert next(i for i in listed if i["name"] == lab)["hosts"] == {"b": "up"}
        status = json.loads(a.netlab("status", lab, "--json", env=env).stdout)
        assert set(status["nodes"]) == {"gw", "h1", "outside"} and set(status["hosts"]["b"]["nodes"]) == {"h2"}
    finally:
        down = a.netlab("down", lab, "--json", env=env)
    assert down.returncode == 0, down.stderr
    assert not b.leftovers() and not a.leftovers()


@pytest.mark.parametrize("failing", ["h2", "h1"])  # the remote host's share fails; this host's
def test_one_host_failing_rolls_back_every_host(driven, tmp_path, failing):
    (a, b), env = driven
    path, lab = driven_file(tmp_path, **{f"{failing}: {{host: ": f"{failing}: {{exec: ['exit 3'], host: "})
    built = a.netlab("up", str(path), env=env)
    assert built.returncode == 1
    assert "was not built (every host's share is taken down again)" in built.stderr
    assert ("host b (root@198.18.255.2)" if failing == "h2" else "host a: ") in built.stderr
    assert "exited 3" in built.stderr
    assert not a.leftovers() and not b.leftovers()


def test_an_unreachable_host_is_named_before_anything_is_built(driven, tmp_path):
    (a, b), env = driven
    path, lab = driven_file(tmp_path, **{"h2: {host: b}": "h2: {host: b}\n  h3: {host: c}",
                                         "b: {underlay": "c: {underlay: 198.18.255.9, ssh: root@198.18.255.9}\n  b: "
                                                         "{underlay"})
    built = a.netlab("up", str(path), env=env)
    assert built.returncode == 1
    assert "a host of the lab cannot take part, nothing was built: host c (root@198.18.255.9)" in built.stderr
    assert not a.leftovers() and not b.leftovers()


def test_sigterm_while_the_hosts_build_rolls_back_every_host(driven, tmp_path):
    (a, b), env = driven
    path, lab = driven_file(tmp_path, **{"h2: {host: b}": "h2: {host: b, exec: ['sleep 2']}"})
    driver = subprocess.Popen(a.argv([simhosts.NETLAB, "up", str(path)]), env={**os.environ, **env},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while f"nl.{lab}.h2" not in b.run(["ls", "/run/netns"]).stdout:  # b is building its share
            assert time.monotonic() < deadline and driver.poll() is None, driver.stderr.read()
            time.sleep(0.05)
        driver.send_signal(signal.SIGTERM)
        _, err = driver.communicate(timeout=60)
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
    assert driver.returncode != 0, err  # interrupted (click reports it as an abort)
    assert not a.leftovers() and not b.leftovers()


def test_a_driving_machine_without_nodes_keeps_a_record_that_names_the_hosts(driven, tmp_path):
    (a, b), env = driven
    lab = f"mh{uuid.uuid4().hex[:8]}"
    path = tmp_path / "far.yaml"
    path.write_text(f"""name: {lab}
hosts:
  a: {{underlay: 198.18.255.1}}
  b: {{underlay: 198.18.255.2, ssh: root@198.18.255.2, netlab: {simhosts.NETLAB}}}
nodes: {{x: {{host: b}}, y: {{host: b}}}}
links: [[x, y]]
""")
    built = a.netlab("up", str(path), "--json", env=env)
    try:
        assert built.returncode == 0, built.stderr
        assert json.loads(built.stdout)["hosts"] == {"(this machine)": 0, **steps_of(loader.load(path), "b")}
        y = str(loader.load(path).address_of("y"))
        assert simhosts.ping(a, lab, "x", y, env=env)
    finally:
        down = a.netlab("down", lab, env=env)
    assert down.returncode == 0, down.stderr
    assert not a.leftovers() and not b.leftovers()


_CLASH = """
import dataclasses, sys
from netlab import deploy, loader, plan, share, state
from netlab.errors import LabExists
mine = share.share(loader.load(sys.argv[1]), "a")
theirs = plan.build(dataclasses.replace(mine, name="other"))  # another lab whose tunnels have these VNIs
state.write(theirs, "up")
try:
    deploy.up(mine)
except LabExists as exc:
    print(exc)
"""


def test_a_vni_another_lab_has_on_this_host_is_refused_before_any_change(sim, tmp_path):
    a, b = sim
    path, lab = split_file(tmp_path)
    refused = a.run([sys.executable, "-c", _CLASH, str(path)])
    assert "is already a tunnel of lab other on this host" in refused.stdout, refused.stderr
    assert a.leftovers() == ["record other.json"]
    a.run(["rm", "/run/netlab/other.json"], check=True)
