"""Mininet's figure for the same star, if `mn` is installed (docs/bench-deploy.md)."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time

from netlab.backend.kernel import KernelBackend

# The reference command, with Mininet's addresses moved from its default
# 10.0.0.0/8 to the benchmark range netlab uses (the cost does not depend on it).
MININET_ARGS = ["--switch", "lxbr", "--controller", "none", "--test", "none", "--ipbase", "198.18.0.0/15"]


def run(nodes: int, timeout: float = 600) -> dict | None:
    """The star with Mininet (Linux bridge, no controller), or None without `mn`.

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
        backend = KernelBackend()
        try:
            backend.run("link.delete", [{"ns": None, "name": n} for n in left])
        finally:
            backend.close()
    return {"tool": "mininet", "command": " ".join(["mn", *argv[1:]]), "nodes": nodes, "ok": ok,
            "total_s": round(float(own.group(1)) if own else wall, 3), "wall_s": round(wall, 3),
            "left_behind": left}
