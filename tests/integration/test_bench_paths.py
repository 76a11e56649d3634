"""`netlab bench paths` on real namespaces: every path measured end to end with
tiny windows, a path that cannot be built reported as an error, and nothing
left behind — also when the run is stopped with SIGTERM. Not a speed test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
from types import MappingProxyType

import pytest

from netlab import state
from netlab.bench import cpuidle
from netlab.bench.paths import PathDef, definitions, run_paths, runner
from tests.conftest import lab_leftovers

pytestmark = [pytest.mark.root, pytest.mark.slow]
KEYS = {"name", "rr_tps", "rr_p50_us", "rr_p99_us", "crr_cps", "stream_gbps", "ratio_to_loopback", "engine"}


def test_every_path_measured_and_reported(lab_name, tmp_path):
    paths = [p for p in definitions.PATHS if p != "docker"]  # needs an engine: test_docker_bench.py
    res = run_paths(paths=paths, rounds=1, seconds=0.1, report_dir=str(tmp_path), lab=lab_name)
    assert [r["name"] for r in res["paths"]] == paths
    for row in res["paths"]:
        assert KEYS <= set(row) and "error" not in row and not row["errors"], row
        assert row["engine"] == "builtin" and row["agree"] is True, row
        assert row["rr_tps"] > 0 and row["crr_cps"] > 0 and row["stream_gbps"] > 0
        assert row["rr_p50_us"] <= row["rr_p99_us"]
    assert res["env"]["paths"]["loopback"]["dev"] == "lo" and res["env"]["paths"]["veth"]["mtu"] == 1500
    # the overlay's hop: a VXLAN device whose MTU leaves room for the encapsulation; its hosts' lab gone too
    assert res["env"]["paths"]["vxlan"]["mtu"] == 1450
    assert not lab_leftovers(runner.lab_name(lab_name, "paths-vxlan.yaml") + "-u")
    # 127.0.0.1 crosses no NIC but still pays a NET_RX softirq: one netif_rx per packet, two per round trip
    loop = next(r for r in res["paths"] if r["name"] == "loopback")["cost"]["rr"]
    assert 1.9 <= loop["netif_rx"] <= 2.5 and 1.9 <= loop["net_rx_softirqs"] <= 2.5, loop
    assert "tracefs" in res["env"]["tools"]["tracefs"]  # mounted, or read in a private mount namespace
    assert res["env"]["nodes"][f"{lab_name}/gw"]["nft_rules"] >= 1
    assert (tmp_path / "report.md").exists() and (tmp_path / "ratio.png").exists()
    assert "idle CPUs:" in (tmp_path / "report.md").read_text()


@pytest.mark.skipif(not (shutil.which("sockperf") and shutil.which("iperf3")), reason="sockperf/iperf3 not installed")
def test_reference_engines_beside_the_builtin(lab_name):
    res = run_paths(paths=["loopback", "nat"], metrics=["rr", "stream"], rounds=1, engine="all", seconds=0.1,
                    lab=lab_name)
    rows = {(r["name"], r["engine"]): r for r in res["paths"]}
    assert set(rows) == {(p, e) for p in ("loopback", "nat") for e in ("builtin", "sockperf", "iperf3")}
    assert rows["nat", "sockperf"]["rr_tps"] > 0 and rows["nat", "iperf3"]["stream_gbps"] > 0
    assert res["calibration"]["ratio"] > 0
    assert {c["name"] for c in res["comparison"]} == {"loopback", "nat"}
    assert res["env"]["tools"]["sockperf"] and res["env"]["tools"]["iperf3"]


def test_a_path_that_cannot_be_built_is_an_error(lab_name, tmp_path):
    broken = tmp_path / "paths-broken.yaml"
    broken.write_text("name: broken\nnodes:\n  cl: {kind: nosuchkind}\n")
    table = MappingProxyType({p.name: p for p in (
        definitions.PATHS["veth"],
        PathDef("ghost", "cl", "nowhere", "198.18.1.2", "a server node the topology lacks"),
        PathDef("unbound", "cl", "vp", "198.18.1.77", "an address no interface of the server has"),
        PathDef("no-file", "cl", "vp", "198.18.1.2", "a topology that is not there", topology="paths-none.yaml"),
        PathDef("broken", "cl", "vp", "198.18.1.2", "a topology the core refuses", topology=str(broken)),
    )})
    res = runner.run(runner.Options(metrics=["rr"], rounds=1, seconds=0.05, lab=lab_name), table)
    rows = {r["name"]: r for r in res["paths"]}
    assert rows["veth"]["rr_tps"] > 0
    assert "'nowhere' is not in paths.yaml" in rows["ghost"]["error"]
    assert rows["unbound"]["rr_tps"] is None and "Cannot assign requested address" in rows["unbound"]["errors"][0]
    assert "No such file" in rows["no-file"]["error"]
    # an extra topology the core refuses is skipped unless it was asked for by name
    assert "unknown kind 'nosuchkind'" in rows["broken"]["skipped"] and "error" not in rows["broken"]
    res = runner.run(runner.Options(paths=["broken"], metrics=["rr"], rounds=1, seconds=0.05, lab=lab_name), table)
    assert "could not be built" in res["paths"][0]["error"]
    assert not lab_leftovers(f"{lab_name}-none") and not lab_leftovers(f"{lab_name}-broken")


def test_sigterm_takes_the_lab_down(lab_name):
    code = ("from netlab.bench.paths import run_paths; "
            f"run_paths(paths=['veth'], metrics=['rr'], rounds=500, seconds=0.2, lab={lab_name!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while not state.exists(lab_name) and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(1.0)  # inside the rounds
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0 and b"SIGTERM" in err, err  # raised as a KeyboardInterrupt, so `finally` ran
    assert not lab_leftovers(lab_name)
    assert not [p for p in os.listdir("/proc") if p.isdigit() and _engine_of(p, lab_name)]


def _engine_of(pid: str, lab: str) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            cmdline = fh.read()
    except OSError:
        return False
    return b"netlab.bench.paths.engine" in cmdline and f".{lab}.".encode() in cmdline


def _qos_request() -> int:
    """The machine's current CPU latency request (µs), as the kernel reports it."""
    with open(cpuidle.DEVICE, "rb") as fh:
        return struct.unpack("i", fh.read(4))[0]


def test_idle_cpus_are_held_polling_only_while_the_run_lasts():
    before = _qos_request()
    with cpuidle.polling() as held:
        assert held["held"] is True and held["request_us"] == 0, held
        assert _qos_request() == 0
    assert _qos_request() == before
    with cpuidle.polling(False) as not_held:
        assert not_held["held"] is False and "--no-poll-idle" in not_held["why"]
        assert _qos_request() == before


@pytest.mark.skipif(not shutil.which("sockperf"), reason="sockperf not installed")
def test_spin_mode_busy_waits_both_engines_and_says_so(lab_name):
    res = run_paths(paths=["loopback", "veth"], metrics=["rr", "crr", "stream"], rounds=1, engine="all",
                    seconds=0.1, lab=lab_name, wait="spin")
    assert res["env"]["wait"]["mode"] == "spin" and res["env"]["wait"]["stream"] == "block"
    waits = {(s["engine"], s["metric"]): s["wait"] for s in res["samples"] if "error" not in s}
    assert waits[("builtin", "rr")] == waits[("builtin", "crr")] == waits[("sockperf", "rr")] == "spin"
    assert waits[("builtin", "stream")] == "block"  # stream waits for buffer space, as iperf3 does
    rows = {(r["name"], r["engine"]): r for r in res["paths"]}
    assert rows["veth", "builtin"]["rr_tps"] > 0 and rows["veth", "sockperf"]["rr_tps"] > 0
    assert rows["veth", "builtin"]["agree"] is True and rows["veth", "builtin"]["crr_cps"] > 0
    assert any("spin" in n for n in res["notes"])


def test_auto_waits_the_way_this_machine_needs(lab_name):
    res = run_paths(paths=["loopback"], metrics=["rr"], rounds=1, seconds=0.05, lab=lab_name)
    idle, wait = res["env"]["cpu_idle"], res["env"]["wait"]
    assert wait["mode"] == ("sleep" if idle["held"] and idle["states"] else "spin"), (idle, wait)
