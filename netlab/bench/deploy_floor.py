"""The kernel's own floor for a star: the same namespaces, veths and bridges made by
`ip -batch`, with no addresses, no marks and nothing brought up but the bridge
ports (the issue's reference: N `netns add`, N `link add … type veth peer …
netns`, N `link set … master br0 up`). Past 500 hosts it builds the same
trunked bridges netlab does (generate/lan.py), so the two build the same thing.

Its namespaces are named ``nlf-<tag>-<n>``: not netlab's, never marked, and
always deleted by this module, also when the run is interrupted.

`ip -batch` keeps the namespace fds a `netns NAME` argument opens until it
exits: 10,000 veths would need 20,000 and hit the open-file limit ("Invalid
"netns" value"), so the batch is cut into processes of CHUNK lines.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable

from netlab.backend import netns, reclaim
from netlab.generate import lan

Progress = Callable[[int], None]
CHUNK = 2000  # lines per `ip -batch` process: at most 2 fds a line stay open until it exits


def _names(tag: str, hosts: int) -> tuple[str, list[str]]:
    return f"nlf-{tag}-sw", [f"nlf-{tag}-{i}" for i in range(1, hosts + 1)]


def _batches(tag: str, hosts: int) -> tuple[str, str]:
    """(root batch, switch batch): namespaces and veths from the root; bridges, trunks
    and ports inside the switch namespace."""
    sw, ns = _names(tag, hosts)
    root = [f"netns add {sw}"] + [f"netns add {n}" for n in ns]
    root += [f"link add eth0 netns {n} type veth peer name p{i} netns {sw}" for i, n in enumerate(ns, 1)]
    count = lan.bridge_count(hosts)
    inside = [f"link add br{k} type bridge" for k in range(count)]
    for k in range(1, count):
        inside += [f"link add t{k}a type veth peer name t{k}b", f"link set t{k}a master br{k} up",
                   f"link set t{k}b master br0 up"]
    first = lan.first_bridge_members(hosts)
    for i in range(1, hosts + 1):
        k = 0 if i <= first else 1 + (i - first - 1) // (lan.PORTS_PER_BRIDGE - 1)
        inside.append(f"link set p{i} master br{k} up")
    inside += [f"link set br{k} up" for k in range(count)]
    return "\n".join(root) + "\n", "\n".join(inside) + "\n"


def _ip(args: list[str], text: str) -> None:
    lines = text.splitlines(keepends=True)
    for first in range(0, len(lines), CHUNK):
        done = subprocess.run(["ip", *args, "-batch", "-"], input="".join(lines[first:first + CHUNK]),
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"ip {' '.join(args)} -batch failed: {done.stderr.strip()[-300:]}")


def run(hosts: int, tag: str | None = None) -> dict:
    """Build the star with `ip -batch` and delete it; seconds for each. ``baseline`` is
    what the kernel should come back to once the namespaces are freed (for the caller
    to wait on, so that the next round does not pay for this one's clean-up)."""
    tag = tag or str(os.getpid())
    sw, ns = _names(tag, hosts)
    root, inside = _batches(tag, hosts)
    t0 = time.perf_counter()
    try:
        _ip([], root)
        _ip(["-n", sw], inside)
        t1 = time.perf_counter()
    finally:
        base = reclaim.baseline(sum(1 for n in [sw, *ns] if netns.exists(n)))
        t_down = time.perf_counter()
        delete(tag, hosts)
    t2 = time.perf_counter()
    return {"up_s": round(t1 - t0, 3), "down_s": round(t2 - t_down, 3), "baseline": base,
            "command": f"ip -batch (netns add ×{hosts + 1}, link add veth … netns ×{hosts}, {CHUNK} lines a process); "
                       f"ip -n {sw} -batch (bridge ×{lan.bridge_count(hosts)}, link set … master … up ×{hosts})"}


def delete(tag: str, hosts: int) -> None:
    """Remove every namespace of the floor's star that exists (one `ip -batch`)."""
    sw, ns = _names(tag, hosts)
    present = [n for n in [sw, *ns] if netns.exists(n)]
    if present:
        subprocess.run(["ip", "-force", "-batch", "-"], input="".join(f"netns del {n}\n" for n in present),
                       capture_output=True, text=True, check=False)
