"""bench paths without root: the path table against its topology, selection, statistics, parsers."""

from __future__ import annotations

import pytest

import netlab
from netlab.bench.paths import counters, definitions, env, reference, runner, stats
from netlab.bench.paths.definitions import PathDef


def test_every_path_names_nodes_and_an_address_of_its_topology():
    topo = netlab.load(definitions.topology_file(definitions.DEFAULT_TOPOLOGY), name="bp-unit").validate()
    assert topo.name == "bp-unit"
    for d in definitions.PATHS.values():
        own = topo if d.topology == definitions.DEFAULT_TOPOLOGY else \
            netlab.load(definitions.topology_file(d.topology), name="bp-unit").validate()  # a file of its own (docker)
        assert {d.client, d.server} <= set(own.nodes), d.name
        addr = d.server_address(own)
        assert addr.count(".") == 3, (d.name, addr)
    assert definitions.PATHS["nat"].server_address(topo) == "203.0.113.2"
    assert definitions.PATHS["own-ip"].server_address(topo) == "198.18.1.1"


def test_server_address_of_an_interface_without_one_is_an_error():
    topo = netlab.load(definitions.topology_file(definitions.DEFAULT_TOPOLOGY), name="bp-unit").validate()
    with pytest.raises(LookupError, match="no address on 'eth9'"):
        PathDef("x", "cl", "vp", "vp:eth9", "").server_address(topo)


def test_selection_keeps_table_order_and_names_the_known_ones():
    assert [p.name for p in definitions.select(["nat", "loopback"])] == ["loopback", "nat"]
    with pytest.raises(ValueError, match="paths: loopback, own-ip"):
        definitions.select(["docker0"])
    assert definitions.select_metrics(None) == ["rr", "crr", "stream"]
    with pytest.raises(ValueError, match="metrics: rr, crr, stream"):
        definitions.select_metrics(["udp"])
    with pytest.raises(ValueError, match="engines: builtin"):
        runner.engines("netperf")


def test_reference_tools_only_run_what_they_measure():
    assert runner.jobs(("builtin", "sockperf", "iperf3"), ["rr", "crr", "stream"]) == [
        ("builtin", "rr"), ("sockperf", "rr"), ("builtin", "crr"), ("builtin", "stream"), ("iperf3", "stream")]
    assert runner.total_steps(runner.Options(paths=["veth"], metrics=["crr"], rounds=3, engine="all")) == 3
    assert runner.lab_name("bench-paths", "paths.yaml") == "bench-paths"
    assert runner.lab_name("bench-paths", "paths-docker.yaml") == "bench-paths-docker"


def test_percentiles_are_nearest_rank_and_ordered():
    sample = list(range(1, 1001))
    p = stats.percentiles(sample)
    assert (p["p50"], p["p90"], p["p99"], p["p99_9"]) == (500, 900, 990, 999)
    summary = stats.latency_summary([5000, 1000, 3000])
    assert summary["p50"] == 3.0 and summary["min"] == 1.0 and summary["max"] == 5.0
    assert sum(c for _, c in summary["histogram"]) == 3
    assert stats.spread([3.0, None, 1.0, 2.0, 10.0]) == {"median": 2.5, "min": 1.0, "max": 10.0, "n": 4}
    assert stats.spread([None]) is None


def _delta(busy_idle: float, proc_s: float, steal: float = 0.0) -> dict:
    cpu = {f: 0.0 for f in counters.CPU_FIELDS}
    return {"seconds": 1.0, "net_rx": 2000, "cpu_wait_us": 100_000, "proc_cpu_ns": int(proc_s * 1e9),
            "ctx_switches": 4000,
            "cpu": {"cpu0": {**cpu, "idle": busy_idle, "steal": steal}, "cpu1": {**cpu, "idle": busy_idle}}}


def test_interference_is_cpu_time_the_engine_did_not_use():
    quiet = counters.interference(_delta(busy_idle=0.5, proc_s=1.0))
    assert quiet["flagged"] is False and quiet["foreign_cpu"] == 0.0 and quiet["cpu_wait"] == 0.1
    busy = counters.interference(_delta(busy_idle=0.2, proc_s=1.0))
    assert busy["flagged"] and "60% of a CPU" in busy["why"]
    stolen = counters.interference(_delta(busy_idle=0.45, proc_s=1.0, steal=0.1))
    assert stolen["flagged"] and "stole" in stolen["why"]
    assert counters.per_transaction(_delta(0.5, 1.0), 1000) == {"cpu_us": 1000.0, "net_rx_softirqs": 2.0,
                                                                "ctx_switches": 4.0}


def test_counters_read_this_machine():
    import os

    snap = counters.snapshot([os.getpid()])
    d = counters.delta(snap, counters.snapshot([os.getpid()]))
    assert d["net_rx"] >= 0 and d["proc_cpu_ns"] >= 0 and set(d["cpu"]) == set(snap["cpu"])


SOCKPERF = """\
sockperf: [Total Run] RunTime=2.000 sec; Warm up time=400 msec; SentMessages=31742; ReceivedMessages=31741
sockperf: ========= Printing statistics for Server No: 0
sockperf: [Valid Duration] RunTime=1.550 sec; SentMessages=24207; ReceivedMessages=24207
sockperf: ====> avg-rtt=64.018 (std-dev=31.961)
sockperf: ---> percentile 99.900 =  157.313
sockperf: ---> percentile 99.000 =   55.777
sockperf: ---> percentile 90.000 =   40.545
sockperf: ---> percentile 50.000 =   30.675
"""


def test_sockperf_and_iperf3_output_parsed():
    s = reference.parse_sockperf(SOCKPERF)
    assert s["rate"] == round(24207 / 1.55, 1) and s["total_transactions"] == 31741
    lat = s["latency_us"]
    assert lat["p50"] == 30.675 and lat["p99_9"] == 157.313 and lat["mean"] == 64.018
    with pytest.raises(reference.EngineError, match="no result"):
        reference.parse_sockperf("sockperf: ERROR: connect failed")
    i = reference.parse_iperf3('{"start": {"test_start": {"blksize": 131072}, "tcp_mss_default": 32768},'
                               ' "end": {"sum_received": {"bits_per_second": 2.5e10, "seconds": 1.0}}}')
    assert i["gbps"] == 25.0 and i["buffer"] == 131072 and i["mss"] == 32768
    with pytest.raises(reference.EngineError, match="unable to connect"):
        reference.parse_iperf3('{"start": {}, "error": "unable to connect to server"}')


def test_offloads_parsed_from_ethtool():
    text = "Features for lo:\nrx-checksumming: on [fixed]\ntcp-segmentation-offload: on\n\ttx-tcp-segmentation: on\n"
    assert env.parse_offloads(text) == {"rx-checksumming": "on [fixed]", "tcp-segmentation-offload": "on"}
