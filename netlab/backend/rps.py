"""Receive packet steering of an interface in a namespace: which CPUs do its receive work.

sysfs shows the devices of the namespace it was mounted in, not the caller's: the
script runs under `ip netns exec`, which mounts the namespace's own /sys in a private
mount namespace that ends with the command.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable

_SCRIPT = """set -e
for q in /sys/class/net/"$1"/queues/rx-*; do
  [ -e "$q/rps_cpus" ] || exit 3
  cat "$q/rps_cpus"
  echo "$2" > "$q/rps_cpus"
done"""


def cpu_mask(cpus: Iterable[int]) -> str:
    """{1} → "2", {0, 1} → "3": a CPU set as the hex mask rps_cpus takes ("0": none)."""
    return format(sum(1 << cpu for cpu in set(cpus)), "x")


def rps_set(ns: str, ifname: str, cpus: Iterable[int]) -> list[str]:
    """Steer the receive work of ``ifname`` in namespace ``ns`` to ``cpus`` (RPS: the
    rps_cpus of each of its rx queues; an empty set turns RPS off). Returns the old
    masks; FileNotFoundError if the kernel has no RPS (CONFIG_RPS)."""
    if not ns:
        raise ValueError("labs steer RPS inside lab namespaces only, never in the root namespace")
    done = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", _SCRIPT, "rps", ifname, cpu_mask(cpus)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode == 3:
        raise FileNotFoundError(f"{ifname} has no rps_cpus: this kernel lacks RPS (CONFIG_RPS)")
    if done.returncode:
        raise RuntimeError(f"rps_cpus of {ifname} in {ns}: {done.stderr.strip()}")
    return done.stdout.split()
