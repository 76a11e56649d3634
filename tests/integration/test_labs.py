"""Every lab in its short form on this kernel, the traffic tools, and an interrupted lab."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from netlab import deploy, names, state
from netlab import node as nodeexec
from netlab.backend import netns
from netlab.backend import procfs as probe
from netlab.labs import discover, runner
from tests.conftest import lab_leftovers

pytestmark = pytest.mark.root

# The benches these labs wrap may be absent, and a machine busy with other sockets
# makes connection-memory's machine-wide slab figures unusable: skip, never fail.
MAY_SKIP = {"container-network": "needs netlab bench", "million-connections": "needs netlab bench",
            "connection-memory": "the machine was not quiet"}
# sysctls the labs change, each only inside lab namespaces: the root namespace's must not move
ROOT_SYSCTLS = ("net.ipv4.tcp_syn_retries", "net.ipv4.tcp_syn_linear_timeouts", "net.ipv4.tcp_syncookies",
                "net.ipv4.tcp_abort_on_overflow", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_max_tw_buckets",
                "net.ipv4.tcp_tw_reuse", "net.core.somaxconn", "net.ipv4.tcp_fastopen", "net.ipv4.tcp_rmem",
                "net.ipv4.tcp_wmem", "net.core.busy_read", "net.core.busy_poll",
                "net.ipv4.tcp_autocorking", "net.core.netdev_max_backlog")


def root_sysctls() -> dict[str, str]:
    return {k: probe.sysctl_get(None, k) for k in ROOT_SYSCTLS if os.path.exists(probe.sysctl_path(k))}


def _lab_passes(name: str, short: bool) -> None:
    before = root_sysctls()
    result = runner.run(discover.find(name), short=short)
    assert not lab_leftovers(result.run_name), lab_leftovers(result.run_name)
    assert root_sysctls() == before, "a lab changed a sysctl of the root namespace"
    failed = [f"{c.id}: measured {c.measured_text()}, expected {c.expected} ({c.note})"
              for c in result.checks if c.verdict == "fail"]
    assert result.verdict != "fail", f"{result.reason}\n" + "\n".join(failed)
    if result.verdict == "skip" or any(c.verdict == "skip" for c in result.checks):
        reasons = result.reason + " ".join(c.note for c in result.checks)
        assert name in MAY_SKIP and MAY_SKIP[name] in reasons, reasons
        pytest.skip(f"{name}: {reasons[:200]}")
    assert all(c.verdict == "pass" for c in result.checks)


LABS = [s.name for s in discover.discover()]  # every lab found, new ones included


@pytest.mark.slow
@pytest.mark.parametrize("name", LABS)
def test_lab_short_form_passes(name):
    _lab_passes(name, short=True)


@pytest.mark.full
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("name", LABS)
def test_lab_full_form_passes(name):
    """The full parameters (`netlab lab run NAME`): `make labs`, not `make test`."""
    _lab_passes(name, short=False)


def _run_name_of(proc: subprocess.Popen, prefix: str, timeout: float = 30) -> str:
    """The lab ``proc`` brought up: its record names ``proc`` as the writer. Not merely the
    first lab named ``prefix*``: a run killed earlier (this machine's history, or another
    person's) may have left one."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for lab in state.labs():
            if lab.startswith(prefix) and _writer(lab) == proc.pid:
                return lab
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError(f"no lab {prefix}* came up")


def _writer(lab: str) -> int | None:
    try:
        with open(names.state_file(lab)) as fh:
            return json.load(fh).get("pid")
    except (OSError, ValueError, AttributeError):
        return None


@contextlib.contextmanager
def _running(name: str, *args: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """`netlab lab run NAME ARGS` in a child process: (the process, its run's lab name);
    killed at the end if it still runs, and its lab taken down then."""
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "lab", "run", name, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab = None
    try:
        lab = _run_name_of(proc, f"lb-{name}-")
        yield proc, lab
    finally:
        if proc.poll() is None:  # the test itself failed: kill the run, and take its lab down too
            proc.kill()
            proc.wait()
            if lab and lab in state.records():
                deploy.down(lab)


def _sigterm(proc: subprocess.Popen) -> str:
    """SIGTERM the run; it must end with 128 + SIGTERM. Returns its stderr."""
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    return err


def _nft_tables(lab: str, node: str) -> str:
    """`nft list tables` in the node; empty while its namespace is not made yet (the state
    record comes first)."""
    try:
        return nodeexec.run(lab, node, ["nft", "list", "tables"], capture=True).stdout.decode()
    except FileNotFoundError:
        return ""


@pytest.mark.slow
def test_lab_interrupted_midway_leaves_nothing():
    """SIGTERM while the procedure runs (an nftables rule and a blocked connect() in flight)."""
    with _running("syn-retransmit", "--short") as (proc, lab):
        server = names.netns(lab, "server")
        deadline = time.monotonic() + 90  # a loaded shared machine took more than 20 s to get there
        while "netlab_lab" not in _nft_tables(lab, "server"):
            assert time.monotonic() < deadline, "the lab never added its nftables rule"
            time.sleep(0.05)
        time.sleep(0.3)  # a connect() waiting on a dropped SYN
        assert "taken down" in _sigterm(proc)
    assert not netns.exists(server)
    assert not lab_leftovers(lab), lab_leftovers(lab)


@pytest.mark.slow
def test_lab_with_c_helpers_interrupted_leaves_nothing():
    """SIGTERM while zero-copy's C server streams its file: the helper, the lab and the file go."""
    with _running("zero-copy") as (proc, lab):
        deadline, helpers = time.monotonic() + 60, []
        while not helpers:  # the C server runs in the node
            assert time.monotonic() < deadline, "the lab never started its C server"
            out = subprocess.run(["ip", "netns", "pids", names.netns(lab, "server")], capture_output=True, text=True)
            helpers = [int(pid) for pid in out.stdout.split()]
            time.sleep(0.05)
        _sigterm(proc)
    assert not lab_leftovers(lab), lab_leftovers(lab)
    assert not [pid for pid in helpers if os.path.exists(f"/proc/{pid}")], "a C helper outlived the lab"
    shm = Path("/dev/shm")
    assert not (shm.is_dir() and list(shm.glob("netlab-zero-copy-*"))), "the served file's dir was left"


TRAFFIC_LAB = """
name: x
nodes:
  sw: {}
  a: {}
  b: {}
bridges:
  br0:
    node: sw
    subnet: 198.18.72.0/24
    members: [a:eth0, b:eth0]
"""


def test_traffic_tools_in_a_lab(build, tmp_path):
    from netlab.errors import NetlabError
    from netlab.traffic import api

    topo = build(TRAFFIC_LAB)
    lab, a, b = topo.name, str(topo.address_of("a")), str(topo.address_of("b"))
    with nodeexec.inside(lab, "b"):
        listener = socket.create_server((b, 8072), backlog=16)
    try:
        hosts = api.sweep(lab, "a", "198.18.72.0/24", "arp", 1.0)
        assert b in [h["ip"] for h in hosts]
        assert b in [h["ip"] for h in api.sweep(lab, "a", "198.18.72.0/29", "ping", 1.0)]
        shake = api.handshake(lab, "a", b, 8072)
        assert shake["state"] == "ESTABLISHED"
        listener.settimeout(2)
        conn, peer = listener.accept()
        assert peer == (a, shake["sport"])
        conn.close()
        answer = api.craft(lab, "a", b, proto="tcp", dport=8073, flags="S")
        assert any(" RA" in r for r in answer["answers"]), answer  # a closed port answers RST
        flood = api.synflood(lab, "a", b, 8072, 500, 5.0, hold=1.0)
        assert flood["sent"] == 500 and flood["pps"] > 1000
        with pytest.raises(NetlabError, match="outside"):
            api.synflood(lab, "a", "198.18.73.2", 8072, 10, 1.0)
    finally:
        listener.close()
    assert "netlab_traffic" not in nodeexec.run(lab, "a", ["nft", "list", "tables"], capture=True).stdout.decode()


def test_capture_writes_a_pcap(build, tmp_path):
    from netlab.traffic import api

    topo = build(TRAFFIC_LAB)
    lab, b = topo.name, str(topo.address_of("b"))
    pcap = tmp_path / "icmp.pcap"
    pinger = nodeexec.popen(lab, "a", ["ping", "-c", "50", "-i", "0.2", b], stdout=subprocess.DEVNULL)
    try:
        got = api.capture(lab, "b", str(pcap), "eth0", "icmp", count=4, seconds=10)
    finally:
        pinger.kill()
        pinger.wait()
    assert got["packets"] == 4 and Path(got["path"]).stat().st_size > 100
    assert all("ICMP" in line for line in got["summary"])


def test_a_lab_needing_a_missing_kernel_feature_is_skipped(tmp_path, monkeypatch):
    from netlab.backend import features

    missing = [f for f in ("qdisc:netem", "qdisc:fq_codel", "link:ipvlan") if features.missing([f])]
    if not missing:
        pytest.skip("this kernel has netem, fq_codel and ipvlan: nothing to miss")
    folder = tmp_path / "needs-it"
    folder.mkdir()
    (folder / "lab.yaml").write_text(f"""name: needs-it
chapter: ["10"]
question: Does it skip?
duration: {{short: 1, full: 1}}
requires: [{missing[0]}]
checks:
  - {{id: ran, claim: It ran, figure: ran, expect: "== 1"}}
""")
    (folder / "topology.yaml").write_text("name: x\nnodes:\n  a: {}\n")
    (folder / "procedure.py").write_text("def run(lab):\n    lab.figure('ran', 1)\n")
    monkeypatch.setenv(discover.ENV_DIR, str(tmp_path))
    result = runner.run(discover.find("needs-it"), short=True)
    assert result.verdict == "skip" and missing[0] in result.reason
    assert [c.verdict for c in result.checks] == ["skip"]
    assert not state.labs() or not any(lab.startswith("lb-needs-it-") for lab in state.labs())
