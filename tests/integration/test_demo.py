"""`make demo` (scripts/demo.sh): a lab with a bridge and a NAT hop, a ping across it, a short
bench of loopback, veth, bridge and NAT with ratios to loopback, and nothing left behind —
also when it is interrupted with Ctrl-C (SIGINT to its process group) at any stage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import lab_leftovers

pytestmark = [pytest.mark.root, pytest.mark.slow]
DEMO = Path(__file__).parents[2] / "scripts" / "demo.sh"


def _demo(lab: str) -> subprocess.Popen:
    env = dict(os.environ, NETLAB_DEMO_LAB=lab, NETLAB=str(Path(sys.executable).parent / "netlab"),
               PYTHON=sys.executable)
    return subprocess.Popen([str(DEMO)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # its own process group, as a terminal's job is


def _left(lab: str) -> list[str]:
    return lab_leftovers(lab) + lab_leftovers(f"{lab}-paths")


@pytest.mark.timeout(600)
def test_demo_shows_the_hop_costs_and_leaves_nothing(lab_name):
    proc = _demo(lab_name)
    out, _ = proc.communicate(timeout=540)
    assert proc.returncode == 0, out[-3000:]
    assert "3 received" in out and "src=198.18.0.2 dst=203.0.113.2" in out and "dst=203.0.113.1" in out, out
    table = out.split("round trip p50", 1)[1]
    for path in ("loopback", "veth", "bridge", "nat"):
        assert f"\n{path} " in table, table
    assert " us " in table and "baseline" in table and "nothing left behind" in out
    assert not _left(lab_name)


@pytest.mark.timeout(600)
@pytest.mark.parametrize("stage, after", [("== h1 pings the outside", 0.2), ("== what each hop costs", 2.0)])
def test_ctrl_c_at_any_stage_leaves_nothing(lab_name, stage, after):
    proc = _demo(lab_name)
    seen = ""
    deadline = time.monotonic() + 300
    while stage not in seen and time.monotonic() < deadline:
        line = proc.stdout.readline()
        assert line, seen[-3000:]
        seen += line
    time.sleep(after)  # inside the stage: the ping, or the benchmark's rounds
    os.killpg(proc.pid, signal.SIGINT)
    out, _ = proc.communicate(timeout=240)
    assert proc.returncode != 0, seen + out
    assert not _left(lab_name), seen + out
