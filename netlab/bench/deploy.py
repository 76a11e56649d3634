"""`netlab bench deploy`: how fast a star of N namespaces on one bridge comes and goes.

The star is described with netlab's builder and goes through the normal core
path (validate → plan → executor → kernel backend, netlab.up and down), so the
figure is what any lab of that size gets. Between rounds the
bench waits until the kernel has really freed the namespaces of the previous
one (it does so in the background after `down`), so one round never pays for
another's clean-up; that wait is reported as ``settle_s``, apart from the total.
"""

from __future__ import annotations

import ipaddress
import re
import shutil
import socket
import subprocess
import time

from netlab import deploy, lifecycle
from netlab.bench.settle import namespaces_alive, settle
from netlab.builder import Topology

LAB = "bench-deploy"
# The reference command, with Mininet's addresses moved from its default
# 10.0.0.0/8 to the benchmark range netlab uses (the cost does not depend on it).
MININET_ARGS = ["--switch", "lxbr", "--controller", "none", "--test", "none", "--ipbase", "198.18.0.0/15"]


def star(nodes: int, lab: str = LAB) -> Topology:
    """N hosts on one bridge in a switch namespace, addressed from 198.18.0.0/15."""
    plen = 32 - max(2, (nodes + 2).bit_length())
    subnet = ipaddress.ip_network(f"198.18.0.0/{min(plen, 24)}")
    topo = Topology(lab).node("sw")
    for i in range(nodes):
        topo.node(f"h{i}")
    return topo.bridge("br0", node="sw", subnet=subnet, members=[f"h{i}:eth0" for i in range(nodes)])


def run(nodes: int, lab: str = LAB, settle_timeout: float | None = None) -> dict:
    """Bring the star up and down; seconds for each, and for the kernel to settle after."""
    model = star(nodes, lab).validate()  # checked before the clock starts: the figure is up and down
    before = namespaces_alive()
    t0 = time.perf_counter()
    with lifecycle.up(model) as running:
        t1 = time.perf_counter()
        running.down()
    t2 = time.perf_counter()
    return {"nodes": nodes, "up_s": round(t1 - t0, 3), "down_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3), "settle_s": settle(before, settle_timeout or 2 + nodes / 100)}


def mininet(nodes: int, timeout: float = 600) -> dict | None:
    """The same star with Mininet (Linux bridge, no controller), if `mn` is installed.

    Never runs `mn -c`: its clean-up kills every `ping` and `mnexec` on the machine
    and deletes /tmp/*.log. A normal run leaves nothing; this checks that it did,
    and removes only the switch links this run made if it did not."""
    mn = shutil.which("mn")
    if not mn:
        return None
    before = {name for _, name in socket.if_nameindex()}
    argv = [mn, *MININET_ARGS, "--topo", f"single,{nodes}"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
        ok, out = proc.returncode == 0, proc.stdout + proc.stderr
    except subprocess.TimeoutExpired as exc:
        ok, out = False, f"timed out after {exc.timeout} s"
    wall = time.perf_counter() - t0
    own = re.search(r"completed in ([\d.]+) seconds", out)
    left = [n for _, n in socket.if_nameindex() if n not in before and re.fullmatch(r"s1(-eth\d+)?", n)]
    if left:
        backend = deploy.lab_backend()
        try:
            backend.run("link.delete", [{"ns": None, "name": n} for n in left])
        finally:
            backend.close()
    return {"tool": "mininet", "command": " ".join(["mn", *argv[1:]]), "nodes": nodes, "ok": ok,
            "total_s": round(float(own.group(1)) if own else wall, 3), "wall_s": round(wall, 3),
            "left_behind": left}


def compare(nodes: int, rounds: int, with_mininet: bool, lab: str = LAB) -> dict:
    """The best of ``rounds`` runs (by total), every run, and Mininet's figure if asked and installed."""
    runs = [run(nodes, lab) for _ in range(rounds)]
    result = {**min(runs, key=lambda r: r["total_s"]), "rounds": runs}
    ref = mininet(nodes) if with_mininet else None
    if ref:
        result["mininet"] = ref
        if ref["ok"]:
            result["speedup_vs_mininet"] = round(ref["total_s"] / result["total_s"], 1)
    return result
