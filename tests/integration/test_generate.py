"""Generated labs, proved with the kernel: each comes up and every host reaches
every other (all pairs, or a sample for the big star), routes and NAT included."""

from __future__ import annotations

import fcntl
import itertools
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

import netlab
from netlab import deploy, generate, loader, state
from netlab.traffic import reach

from .helpers import TcpServer, ping_output, tcp_fetch

pytestmark = pytest.mark.root
NETLAB = [str(Path(sys.executable).parent / "netlab")]


def _up(shape: str, lab: str, *args: int):
    data = generate.GENERATORS[shape](*args)
    data["name"] = lab
    topo = loader.load_data(data, shape)
    deploy.up(topo)
    return topo


def _hosts(topo) -> list[str]:
    return [n for n in topo.nodes if n.startswith("h")]


def _all_pairs(topo) -> list[tuple[str, str]]:
    return [(a, str(topo.address_of(b))) for a, b in itertools.permutations(_hosts(topo), 2)]


@pytest.mark.parametrize("shape,args", [("star", (40,)), ("linear", (8, 2)), ("tree", (3, 3)), ("clos", (2, 4, 8)),
                                        ("clos", (3, 3, 2)), ("nat", (12,))])
def test_every_host_reaches_every_other(shape, args, lab_name):
    topo = _up(shape, lab_name, *args)
    try:
        pairs = _all_pairs(topo)
        assert reach.unreachable(lab_name, pairs) == []
    finally:
        deploy.down(lab_name)


def test_linear_path_crosses_every_router(lab_name):
    """h1-1 → h6-1 crosses r1..r6: the reply's TTL says six hops."""
    topo = _up("linear", lab_name, 6, 1)
    try:
        assert "ttl=58" in ping_output(lab_name, "h1-1", topo.address_of("h6-1"))
    finally:
        deploy.down(lab_name)


def test_generated_nat_masquerades_out_and_forwards_in(lab_name):
    topo = _up("nat", lab_name, 30)
    try:
        with TcpServer(lab_name, "outside", 9000) as server:
            for h in ("h1", "h17", "h30"):
                assert tcp_fetch(lab_name, h, "203.0.113.2", 9000) == b"hello\n"
        assert server.peers == ["203.0.113.1"] * 3  # the outside never sees 198.18.x
        with TcpServer(lab_name, "h1", 80, reply=b"h1\n"):
            assert tcp_fetch(lab_name, "outside", "203.0.113.1", 8080) == b"h1\n"
        assert str(topo.address_of("h30")).startswith("198.18.0.")
    finally:
        deploy.down(lab_name)


@pytest.fixture
def heavy():
    """Labs of more than 1,000 nodes take the machine's shared lock, so two never
    overlap on a shared machine (in CI it is always free)."""
    with open("/tmp/netlab-heavy.lock", "a") as fh:
        deadline = time.monotonic() + 200
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    pytest.skip("/tmp/netlab-heavy.lock held by another heavy run for 200 s")
                time.sleep(1)
        yield


@pytest.mark.slow
def test_a_star_of_1100_hosts_spans_trunked_bridges(lab_name, heavy):
    topo = _up("star", lab_name, 1100)
    try:
        assert {b.name for b in topo.bridges} == {"br0", "br1", "br2"}
        hosts = _hosts(topo)
        rng = random.Random(12)
        # across the trunks both ways, and within each bridge: br0 holds h1..h498
        pairs = [("h1", "h1100"), ("h1100", "h1"), ("h1050", "h1099"), ("h2", "h1000")]
        pairs += [(a, b) for a, b in (rng.sample(hosts, 2) for _ in range(200))]
        assert reach.unreachable(lab_name, [(a, str(topo.address_of(b))) for a, b in pairs]) == []
    finally:
        deploy.down(lab_name)


def test_up_reads_a_pipe_and_standard_input(lab_name):
    """`netlab up <(netlab generate ...)` and `netlab generate ... | netlab up -`."""
    gen = f"{' '.join(NETLAB)} generate tree --depth 2 --fanout 2 --name {lab_name}"
    for command in (f"{' '.join(NETLAB)} up <({gen})", f"{gen} | {' '.join(NETLAB)} up -"):
        done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (command, done.stderr)
        assert state.exists(lab_name)
        assert reach.unreachable(lab_name, [("h1", "198.18.0.4"), ("h4", "198.18.0.1")]) == []
        deploy.down(lab_name)


def test_a_generated_topology_is_a_python_api_topology(lab_name):
    topo = netlab.from_dict(generate.linear(routers=2, hosts_per_router=1), name=lab_name)
    topo.node("extra")  # a generated topology is changed further like any other
    topo.link("extra:eth0", "r1:eth9")
    with netlab.up(topo) as lab:
        assert lab.exec("h1-1", ["ping", "-c1", "-W2", lab.addr("h2-1")]).ok
        assert "extra" in lab.nodes
