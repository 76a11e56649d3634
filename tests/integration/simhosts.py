"""Simulated machines on this one, for multi-host labs.

Each host is a network namespace (its "root" namespace) with one interface on an
underlay: a bridge in a namespace of its own, on 198.18.255.0/24 (inside RFC 2544's
198.18.0.0/15; the underlay addresses are reserved from the lab's pools by the
loader). Each host runs netlab in its own mount namespace, held open by a sleeping
process, with tmpfs over /run/netns and /run/netlab and its own sysfs: its labs'
namespaces and records are its own, as on a separate machine, and vanish with it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

UNDERLAY = "198.18.255"
NETLAB = str(Path(sys.executable).with_name("netlab"))  # the worktree's, beside the test's python
# mount the private views, say so, and wait; killed, the mount namespace and what it holds go
_HOLD = ("mkdir -p /run/netlab && mount -t tmpfs none /run/netns && mount -t tmpfs none /run/netlab"
         " && mount -t sysfs none /sys && echo ready && exec sleep infinity")


@dataclass
class SimHost:
    name: str
    address: str
    netns: str
    holder: subprocess.Popen | None = None
    daemons: list[subprocess.Popen] = field(default_factory=list)

    def argv(self, argv: list[str]) -> list[str]:
        """``argv`` run on this host: in its network and mount namespaces."""
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", *argv]

    def run(self, argv: list[str], timeout: float = 60, check: bool = False) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout, check=check)

    def netlab(self, *args: str, timeout: float = 90) -> subprocess.CompletedProcess:
        return self.run([NETLAB, *args], timeout=timeout)

    def leftovers(self) -> list[str]:
        """What of any lab is on this host: namespaces, records, links beyond the underlay's."""
        found = [f"netns {n}" for n in self.run(["ls", "/run/netns"]).stdout.split()]
        found += [f"record {n}" for n in self.run(["ls", "/run/netlab"]).stdout.split()]
        links = self.run(["ip", "-o", "link", "show"]).stdout.splitlines()
        found += [f"link {line.split(': ')[1]}" for line in links if line.split(": ")[1].split("@")[0] not in
                  ("lo", "up0")]
        return found


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def hosts(count: int = 2) -> Iterator[list[SimHost]]:
    """``count`` hosts (a, b, ...) on one underlay; all of them removed on the way out, whatever happened."""
    tag = uuid.uuid4().hex[:6]
    wire = f"mhu-{tag}"
    made = [SimHost(chr(ord("a") + i), f"{UNDERLAY}.{i + 1}", f"mhh-{tag}-{chr(ord('a') + i)}")
            for i in range(count)]
    try:
        _ip("netns", "add", wire)
        _ip("-n", wire, "link", "add", "wire", "type", "bridge")
        _ip("-n", wire, "link", "set", "wire", "up")
        for i, h in enumerate(made):
            _ip("netns", "add", h.netns)
            _ip("-n", h.netns, "link", "set", "lo", "up")
            _ip("-n", h.netns, "link", "add", "up0", "type", "veth", "peer", "name", f"p{i}", "netns", wire)
            _ip("-n", wire, "link", "set", f"p{i}", "master", "wire", "up")
            _ip("-n", h.netns, "addr", "add", f"{h.address}/24", "dev", "up0")
            _ip("-n", h.netns, "link", "set", "up0", "up")
            h.holder = subprocess.Popen(["nsenter", f"--net=/run/netns/{h.netns}", "unshare", "-m",
                                         "--propagation", "private", "sh", "-c", _HOLD],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if h.holder.stdout.readline().strip() != "ready":
                raise RuntimeError(f"host {h.name} did not start: {h.holder.stderr.read()}")
        yield made
    finally:
        for h in made:
            for p in [*h.daemons, h.holder]:
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
        for ns in [h.netns for h in made] + [wire]:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def wait_port(host: SimHost, port: int, timeout: float = 10) -> None:
    """Until something listens on ``port`` on ``host``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f":{port} " in host.run(["ss", "-Hltn"]).stdout:
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} of host {host.name}")


def has(tool: str) -> bool:
    return shutil.which(tool) is not None or os.path.exists(tool)
