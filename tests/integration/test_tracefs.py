"""Tracepoint counters on a machine with no tracefs mounted (a fresh machine), and on one
where netlab cannot mount it. Each case runs in a child with a private copy of the mount
namespace (unshare -m --propagation private), where tracefs is unmounted: the machine's
own mounts are never touched, and the test checks they are the same afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.root

# In the child: refuse to go on unless this is a mount namespace of its own, take away
# any tracefs (and debugfs, which holds one at tracing/) in it, then count.
CHILD = """
import json, os, subprocess, sys
assert os.readlink("/proc/self/ns/mnt") != sys.argv[1], "not in a private mount namespace"
for place in ("/sys/kernel/debug/tracing", "/sys/kernel/tracing", "/sys/kernel/debug"):
    while subprocess.run(["umount", "-l", place], capture_output=True).returncode == 0:
        pass
if sys.argv[2] == "drop-cap":  # as root, but without CAP_SYS_ADMIN: no mount(2), no unshare(2)
    os.execvp("setpriv", ["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin",
                          sys.executable, "-c", sys.argv[3], sys.argv[1], "counted"])
exec(sys.argv[3])
"""
COUNT = """
import json
from netlab.bench.paths import builtin, env
from netlab.bench.paths.launch import Ends
res = builtin.measure(Ends("127.0.0.1", client_cpu=None, server_cpu=None), "rr", 0.1, 0.05)
mounts = [ln for ln in open("/proc/self/mountinfo") if " - tracefs " in ln or " - debugfs " in ln]
print(json.dumps({"cost": res["cost"], "tools": env.tools(), "mounts": mounts}))
"""


def _tracefs_mounts() -> list[str]:
    with open("/proc/self/mountinfo") as fh:
        return [ln for ln in fh if " - tracefs " in ln or " - debugfs " in ln]


def _count_without_tracefs(mode: str) -> dict:
    before = _tracefs_mounts()
    out = subprocess.run(["unshare", "-m", "--propagation", "private", sys.executable, "-c", CHILD,
                          os.readlink("/proc/self/ns/mnt"), mode, COUNT],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    assert _tracefs_mounts() == before, "the machine's mounts changed"
    return json.loads(out.stdout.splitlines()[-1])


def test_counters_work_where_no_tracefs_is_mounted():
    found = _count_without_tracefs("keep-cap")
    loop = found["cost"]
    # as on a machine with tracefs: one netif_rx and one NET_RX softirq per packet on loopback
    assert 1.9 <= loop["netif_rx"] <= 2.5 and 1.9 <= loop["net_rx_softirqs"] <= 2.5, loop
    assert "private mount namespace" in found["tools"]["tracefs"], found["tools"]
    assert found["tools"]["tracepoint"].startswith("net:netif_rx"), found["tools"]
    # netlab's mount lived in a thread's own namespace: not even the child's namespace has it
    assert found["mounts"] == [], found["mounts"]


def test_without_cap_sys_admin_the_result_names_why():
    found = _count_without_tracefs("drop-cap")
    cost = found["cost"]
    assert cost["netif_rx"] is None and cost["net_rx_softirqs"] is None, cost
    assert "could not mount one" in cost["netif_rx_note"] and "not permitted" in cost["netif_rx_note"], cost
    assert found["tools"]["tracepoint"].startswith("unavailable: no tracefs"), found["tools"]
    assert cost["cpu_us"] > 0  # the rest of the figures are there
