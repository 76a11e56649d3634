"""The idle-state hold says what it did, also where it cannot hold anything."""

from __future__ import annotations

from netlab.bench import cpuidle
from netlab.bench.paths import report


def test_a_machine_without_the_device_runs_unheld_and_says_why(monkeypatch, tmp_path):
    monkeypatch.setattr(cpuidle, "DEVICE", str(tmp_path / "cpu_dma_latency"))
    with cpuidle.polling() as info:
        assert info["held"] is False and "cpu_dma_latency" in info["why"]
    assert "not held" in report._idle(info)


def test_states_are_listed_shallowest_first():
    found = cpuidle.states()
    names = [s["name"] for s in found]
    assert len(names) == len(set(names))
    if found:  # a machine with a cpuidle driver lists POLL (or its first state) with the lowest exit latency
        latencies = [s["latency_us"] for s in found]
        assert latencies == sorted(latencies)


def test_the_report_names_the_hold():
    held = {"held": True, "driver": "haltpoll", "states": [{"name": "POLL", "latency_us": 0}]}
    assert report._idle(held).startswith("held polling") and "POLL (0 µs)" in report._idle(held)
    assert report._idle(None) == "not recorded"
