"""The idle-state hold says what it did, also where it cannot hold anything."""

from __future__ import annotations

import pytest

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


def test_auto_spins_where_idle_cpus_cannot_be_held_polling():
    haltpoll = {"held": True, "driver": "haltpoll", "states": [{"name": "POLL", "latency_us": 0}]}
    assert cpuidle.wait_mode("auto", haltpoll)["mode"] == "sleep"
    none = {"held": True, "driver": "none", "states": [], "why": "no cpuidle driver: the request changes nothing here"}
    spin = cpuidle.wait_mode("auto", none)
    assert spin["mode"] == "spin" and "no cpuidle driver" in spin["why"]
    assert cpuidle.wait_mode("auto", {"held": False, "states": [], "why": "EACCES"})["mode"] == "spin"
    assert cpuidle.wait_mode("auto", {"asked": False, "held": False})["mode"] == "sleep"  # halting, as asked
    assert cpuidle.wait_mode("sleep", none) == {"mode": "sleep", "why": "asked for (--wait)"}
    with pytest.raises(ValueError, match="--wait 'nap'"):
        cpuidle.wait_mode("nap", none)


def test_the_report_names_the_way_the_ends_wait():
    wait = cpuidle.wait_mode("spin", {}) | {"rr": "spin", "crr": "spin", "stream": "block", "sockperf": "--nonblocked"}
    assert report._wait(wait).startswith("spin") and "stream block" in report._wait(wait)
