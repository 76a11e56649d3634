"""`netlab bench conns` on the real kernel: tens of thousands of connections between two lab
namespaces, counted by the kernel, costed, and all gone afterwards."""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from netlab import names, state
from netlab.errors import NetlabError
from netlab.backend import netns
from netlab.bench.conns import limits, memory, run_conns, runner, topology
from tests.conftest import lab_leftovers
from netlab.bench.conns.plan import Options

pytestmark = [pytest.mark.root, pytest.mark.slow]


def workers_of(lab: str) -> list[int]:
    """Live processes named after the lab's workers (comm "nlc.<lab>" / "nls.<lab>")."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/comm") as fh:
                comm = fh.read().strip()
        except OSError:
            continue
        if comm[:3] in ("nlc", "nls") and comm[4:] == lab[:11]:
            found.append(int(pid))
    return found


def nothing_left(lab: str) -> None:
    """No worker alive, and neither the run's lab nor its parent namespace's lab left behind."""
    assert not workers_of(lab)
    assert not lab_leftovers(lab) and not lab_leftovers(topology.parent_lab(lab))


def tcp_inuse(lab: str, node: str) -> int:
    try:  # the namespace's file exists a moment before it is a namespace
        with netns.entered(names.netns(lab, node)), open("/proc/thread-self/net/sockstat") as fh:
            return memory.sockstat(fh.read())["TCP"]["inuse"]
    except OSError:
        return 0


def test_seventy_thousand_connections_counted_costed_and_gone(lab_name):
    r = run_conns(70000, "ips", hold=1, lab=lab_name, progress=False)
    assert r["established"] == r["target"] == 70000 and r["reached"]
    # past one IP's 64,512 ports: a second client IP, every source port chosen by the bench
    assert r["workers"]["client"] >= 4 and r["workers"]["server"] >= 4 and r["client_ips"] == 2
    assert r["source_ports"] == "bench" and r["leftovers_removed"] == []
    # the kernel's own count, in each namespace, while the connections were held
    assert r["hold"]["verified"] and r["hold"]["checks"] >= 1
    assert r["sockstat"]["client"]["TCP"]["inuse"] >= 40000
    assert r["sockstat"]["server"]["TCP"]["inuse"] >= 40000 + r["workers"]["server"]
    # plausible costs: at least a TCP socket object per socket, at most a few pages
    tcp_obj = 2000
    assert tcp_obj < r["memory"]["connection_caches_bytes_per_socket"] < 16384
    assert r["kernel_bytes_per_socket"] > tcp_obj
    assert abs(r["memory"]["slabinfo_vs_meminfo_pct"]) < 5
    assert "TCP" in r["slab"] and r["slab"]["TCP"]["bytes_per_conn"] > tcp_obj
    assert 0 < r["user_bytes_per_conn"] < 8192
    assert r["rate_cps"] > 0 and r["series"] and r["series"][-1]["established"] == 70000
    # the exact CPU of the ramp, per side and per connection, and the machine's split beside it
    per = r["ramp_cpu"]["us_per_conn"]
    assert per["client"] > 0 and per["server"] > 0 and per["total"] == r["cpu_us_per_conn"]
    assert {"user", "system", "softirq", "idle"} <= set(r["ramp_cpu"]["machine_pct"])
    assert all("cpu_pct" in p for p in r["series"][1:]) and r["teardown"]["cpu"]["us_per_conn"]["total"] > 0
    assert r["limits_ahead"][0]["connections"] > 70000
    assert r["conntrack"]["client"] == 0  # no firewall rule in the lab: nothing tracked
    assert r["teardown"]["time_wait"]["client"] > 0
    assert r["tcp_ehash_entries"] >= 65536  # the namespaces' own established hash, not the host's
    nothing_left(lab_name)


def test_every_worker_fills_its_whole_descriptor_budget(lab_name):
    # RLIMIT_NOFILE 300: 236 connections per client worker, every client at its full quota.
    # Forked workers once kept the parent's pipes to every worker started before them (three
    # each), so the later ones met EMFILE before their quota (`--target max`: at 27,860 of 3 M)
    cmd = [sys.executable, "-m", "netlab", "bench", "conns", "--target", "2360", "--lab", lab_name, "--json"]
    low = lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (300, 300))  # noqa: E731
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, preexec_fn=low)
    r = json.loads(proc.stdout)
    assert proc.returncode == 0, r.get("error") or proc.stderr
    assert r["established"] == 2360 and r["plan"]["fds_per_worker"] == 236
    assert r["workers"] == {"client": 10, "server": 12}
    assert r["worker_fds_at_start"] <= 64  # the plan's reserve beside each quota
    nothing_left(lab_name)


def test_ports_scheme_one_client_ip_many_server_ports(lab_name):
    r = run_conns(20000, "ports", lab=lab_name, progress=False)
    assert r["established"] == 20000 and r["client_ips"] == 1
    assert r["server_ports"] == r["workers"]["server"] >= 2
    nothing_left(lab_name)


def test_memory_guard_stops_the_ramp_and_says_so(lab_name):
    # workers for ~300,000 connections (a 2 GiB budget), but a floor 250 MiB under MemAvailable
    floor = limits.read().mem_available - 250 * 1024 * 1024
    r = runner.run(Options(target=None, memory_budget=2 << 30, memory_floor=floor, lab=lab_name, progress=False))
    assert r["stopped_by"] and r["stopped_by"].startswith("memory guard")
    assert "below the floor" in r["stopped_by"]
    assert 0 < r["established"] < r["plan"]["target"]
    nothing_left(lab_name)


def test_impossible_target_stops_before_building(lab_name):
    cmd = [sys.executable, "-m", "netlab", "bench", "conns", "--target", "100000", "--workers", "2",
           "--lab", lab_name]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "RLIMIT_NOFILE" in proc.stderr and "--workers 6" in proc.stderr


def ramping(lab: str) -> subprocess.Popen:
    """A `netlab bench conns` run of 400,000 under ``lab``, returned once it holds 2,000 connections."""
    cmd = [sys.executable, "-m", "netlab", "bench", "conns", "--target", "400000", "--lab", lab]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while tcp_inuse(lab, "client") < 2000:
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        assert workers_of(lab)
    except BaseException:  # never leave the run going
        proc.kill()
        proc.communicate(timeout=120)
        raise
    return proc


def test_sigterm_mid_ramp_tears_everything_down(lab_name):
    proc = ramping(lab_name)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, err
    assert "torn down" in err
    nothing_left(lab_name)


def test_kernel_chosen_source_ports_still_reach_the_target(lab_name):
    r = runner.run(Options(target=20000, source_ports="kernel", lab=lab_name, progress=False))
    assert r["established"] == 20000 and r["source_ports"] == "kernel"
    nothing_left(lab_name)


def test_a_run_killed_with_sigkill_is_cleaned_up_by_the_next(lab_name):
    proc = ramping(lab_name)
    proc.kill()  # SIGKILL: no teardown runs
    proc.communicate(timeout=60)
    deadline = time.monotonic() + 30
    while workers_of(lab_name) and time.monotonic() < deadline:  # PR_SET_PDEATHSIG takes them
        time.sleep(0.1)
    assert not workers_of(lab_name)
    labs = (lab_name, topology.parent_lab(lab_name))
    assert all(lab_leftovers(lab) for lab in labs)  # both labs left behind, records and all
    # the next run under the same name removes them first, and says so
    r = run_conns(2000, lab=lab_name, progress=False)
    assert r["established"] == 2000
    assert [x["lab"] for x in r["leftovers_removed"]] == list(labs)
    assert {x["run_pid"] for x in r["leftovers_removed"]} == {proc.pid}
    nothing_left(lab_name)


def test_a_lab_the_bench_did_not_build_is_never_touched(build):
    topo = build("nodes:\n  a: {}\n")
    with pytest.raises(NetlabError, match="not built by `netlab bench conns`"):
        run_conns(1000, lab=topo.name, progress=False)
    assert state.exists(topo.name)
