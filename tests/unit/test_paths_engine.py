"""The built-in engine on 127.0.0.1 in this namespace (no root, no lab): both
ends count the same transactions and bytes, percentiles come out ordered."""

from __future__ import annotations

import pytest

from netlab.bench.paths import builtin, launch
from netlab.bench.paths.launch import EngineError, Ends

HERE = Ends("127.0.0.1", client_cpu=None, server_cpu=None)


@pytest.mark.parametrize("spin", [False, True], ids=["block", "spin"])
@pytest.mark.parametrize("metric", ["rr", "crr", "stream"])
def test_both_ends_agree(metric, spin):
    r = builtin.measure(HERE, metric, seconds=0.1, warmup=0.05, spin=spin)
    assert r["agree"] is True
    assert r["wait"] == ("spin" if spin and metric != "stream" else "block")  # stream always blocks
    assert r["client_bytes"] == r["server_bytes"] > 0
    assert r["cost"]["cpu_us"] > 0 and r["cost"]["ctx_switches"] >= 0
    assert set(r["interference"]) >= {"foreign_cpu", "steal", "flagged", "why"}
    if metric == "stream":
        assert r["gbps"] > 0 and r["buffer"] == builtin.STREAM_BUFFER and r["mtu"] >= 1280
    else:
        assert r["client_transactions"] == r["server_transactions"] > 0 and r["rate"] > 0
    if metric == "rr":
        lat = r["latency_us"]
        assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99_9"] <= lat["max"]
        assert lat["count"] == r["transactions"] <= r["client_transactions"]  # one time per measured transaction
    if metric == "crr":
        assert "SO_LINGER 0" in r["close"]


def test_pinned_to_one_core_still_works():
    cpu, same = launch.cores(same_core=True)
    assert cpu == same
    r = builtin.measure(Ends("127.0.0.1", client_cpu=cpu, server_cpu=same), "rr", seconds=0.05, warmup=0.02)
    assert r["agree"]


def test_a_server_that_cannot_bind_is_an_error():
    with pytest.raises(EngineError, match="built-in server"):
        builtin.measure(Ends("192.0.2.77", client_cpu=None, server_cpu=None), "rr", seconds=0.05, warmup=0.01)
