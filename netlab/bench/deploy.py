"""`netlab bench deploy`: how fast a star of N namespaces on one bridge comes and goes."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import time

from netlab import deploy, loader
from netlab.resolve import Topology


def star(nodes: int, lab: str = "bench-deploy") -> Topology:
    """N hosts on one bridge in a switch namespace, addressed from 198.18.0.0/15."""
    plen = 32 - max(2, (nodes + 2).bit_length())
    subnet = ipaddress.ip_network(f"198.18.0.0/{min(plen, 24)}")
    members = "\n".join(f"      - h{i}:eth0" for i in range(nodes))
    hosts = "\n".join(f"  h{i}: {{}}" for i in range(nodes))
    text = (f"name: {lab}\nnodes:\n  sw: {{}}\n{hosts}\nbridges:\n  br0:\n    node: sw\n"
            f"    subnet: {subnet}\n    members:\n{members}\n")
    return loader.load_text(text, f"<star of {nodes}>")


def run(nodes: int, lab: str = "bench-deploy") -> dict:
    """Bring the star up and down; seconds for each."""
    topo = star(nodes, lab)
    t0 = time.perf_counter()
    try:
        deploy.up(topo)
        t1 = time.perf_counter()
    finally:
        t_down = time.perf_counter()
        if deploy.state.exists(lab):
            deploy.down(lab)
    t2 = time.perf_counter()
    return {"nodes": nodes, "up_s": round(t1 - t0, 3), "down_s": round(t2 - t_down, 3),
            "total_s": round(t2 - t0, 3)}


def mininet(nodes: int, timeout: float = 600) -> dict | None:
    """The same star with Mininet (Linux bridge, no controller), if `mn` is installed."""
    mn = shutil.which("mn")
    if not mn:
        return None
    t0 = time.perf_counter()
    proc = subprocess.run([mn, "--switch", "lxbr", "--controller", "none", "--topo", f"single,{nodes}",
                           "--test", "none"], capture_output=True, timeout=timeout)
    total = time.perf_counter() - t0
    subprocess.run([mn, "-c"], capture_output=True, timeout=timeout)
    return {"tool": "mininet", "nodes": nodes, "total_s": round(total, 3), "ok": proc.returncode == 0}
