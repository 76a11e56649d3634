"""Kernel counters a lab reads, each from inside a node's namespace where the
kernel keeps it per namespace: nstat-style SNMP/netstat counters, sockstat,
interface counters, sysctls, RPS masks; and the machine-wide /proc/softirqs,
/proc/net/softnet_stat, /proc/interrupts and /proc/slabinfo.

Reads go through /proc/thread-self/net: /proc/net follows the process's main
thread, which may sit in another namespace than the thread that entered a node.
"""

from __future__ import annotations

import itertools
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from netlab.backend import netns


def parse_snmp(text: str) -> dict[str, int]:
    """/proc/net/snmp or /proc/net/netstat → {"TcpExtListenOverflows": 3, ...} as nstat names them."""
    out: dict[str, int] = {}
    lines = [ln.split() for ln in text.splitlines() if ln.strip()]
    for head, values in zip(lines[::2], lines[1::2]):
        prefix = head[0].rstrip(":")
        for key, value in zip(head[1:], values[1:]):
            try:
                out[prefix + key] = int(value)
            except ValueError:
                continue
    return out


def parse_sockstat(text: str) -> dict[str, dict[str, int]]:
    """/proc/net/sockstat → {"TCP": {"inuse": 5, "orphan": 0, "tw": 0, "alloc": 7, "mem": 1}, ...}."""
    out: dict[str, dict[str, int]] = {}
    for line in text.splitlines():
        proto, _, rest = line.partition(":")
        words = rest.split()
        out[proto.strip()] = {k: int(v) for k, v in zip(words[::2], words[1::2])}
    return out


def parse_netdev(text: str) -> dict[str, dict[str, int]]:
    """/proc/net/dev → {"eth0": {"rx_bytes", "rx_packets", "rx_dropped", "tx_bytes", "tx_packets",
    "tx_dropped"}} (a veth counts the packets its peer's backlog refused as rx_dropped)."""
    out = {}
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        v = [int(x) for x in rest.split()]
        out[name.strip()] = {"rx_bytes": v[0], "rx_packets": v[1], "rx_dropped": v[3],
                             "tx_bytes": v[8], "tx_packets": v[9], "tx_dropped": v[11]}
    return out


def parse_softirqs(text: str) -> dict[str, int]:
    """/proc/softirqs → {"NET_RX": total over CPUs, ...}."""
    out = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        out[name.strip()] = sum(int(x) for x in rest.split())
    return out


def _cpu_columns(header: str) -> list[int]:
    """"CPU0 CPU1 CPU3" → [0, 1, 3]: the CPU each column counts for."""
    return [int(word[3:]) for word in header.split()]


def parse_softirqs_per_cpu(text: str) -> dict[str, dict[int, int]]:
    """/proc/softirqs → {"NET_RX": {0: 2201346, 1: 1919494}, ...}: runs of each softirq per CPU."""
    lines = text.splitlines()
    cpus = _cpu_columns(lines[0])
    out = {}
    for line in lines[1:]:
        name, _, rest = line.partition(":")
        out[name.strip()] = dict(zip(cpus, (int(x) for x in rest.split())))
    return out


@dataclass(frozen=True)
class Softnet:
    """One CPU's line of /proc/net/softnet_stat: packets its backlog (or NAPI) handed
    to the stack, packets dropped because its backlog held netdev_max_backlog, times
    net_rx_action ran out of budget, and times another CPU woke it with an RPS IPI."""

    cpu: int
    processed: int
    dropped: int
    time_squeeze: int
    received_rps: int
    flow_limit: int


def parse_softnet(text: str) -> dict[int, Softnet]:
    """/proc/net/softnet_stat (hex) → {cpu: Softnet}. One line per online CPU; where the
    kernel prints the CPU's number (column 13) it is used, else the line's place."""
    out = {}
    for i, line in enumerate(ln for ln in text.splitlines() if ln.strip()):
        f = [int(x, 16) for x in line.split()]
        cpu = f[12] if len(f) > 12 else i
        out[cpu] = Softnet(cpu, f[0], f[1], f[2], f[9], f[10])
    return out


@dataclass(frozen=True)
class Irq:
    """One line of /proc/interrupts: counts per CPU, what raises it, and whether it is a
    device's interrupt (a numbered line) or one of the CPUs' own (LOC, CAL, RES, ...)."""

    counts: dict[int, int]
    desc: str
    device: bool

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def parse_interrupts(text: str) -> dict[str, Irq]:
    """/proc/interrupts → {"24": Irq({0: 1, 1: 0}, "IO-APIC 5-edge ACPI:Ged"), "CAL": ...}."""
    lines = text.splitlines()
    cpus = _cpu_columns(lines[0])
    out = {}
    for line in lines[1:]:
        name, _, rest = line.partition(":")
        words = rest.split()
        counts = [int(w) for w in itertools.takewhile(str.isdigit, words[:len(cpus)])]
        out[name.strip()] = Irq(dict(zip(cpus, counts)), " ".join(words[len(counts):]), name.strip().isdigit())
    return out


@dataclass(frozen=True)
class Slab:
    active_objs: int
    num_objs: int
    objsize: int

    @property
    def active_bytes(self) -> int:
        return self.active_objs * self.objsize


def parse_slabinfo(text: str) -> dict[str, Slab]:
    out = {}
    for line in text.splitlines()[2:]:
        f = line.split()
        out[f[0]] = Slab(int(f[1]), int(f[2]), int(f[3]))
    return out


def parse_ss_states(text: str) -> Counter:
    """`ss -Htan` output → Counter of TCP states as ss names them (ESTAB, TIME-WAIT, ...)."""
    return Counter(line.split()[0] for line in text.splitlines() if line.strip())


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """after − before for every counter; counters absent before count from 0."""
    return {k: v - before.get(k, 0) for k, v in after.items()}


def _read(ns: str | None, path: str) -> str:
    with netns.entered(ns):
        with open(path) as fh:
            return fh.read()


def nstat(ns: str | None) -> dict[str, int]:
    """Every SNMP and netstat counter of namespace ``ns`` (None: this thread's)."""
    return {**parse_snmp(_read(ns, "/proc/thread-self/net/snmp")),
            **parse_snmp(_read(ns, "/proc/thread-self/net/netstat"))}


def sockstat(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_sockstat(_read(ns, "/proc/thread-self/net/sockstat"))


def netdev(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_netdev(_read(ns, "/proc/thread-self/net/dev"))


def softirqs() -> dict[str, int]:
    """Machine-wide: softirqs are counted per CPU, not per namespace."""
    return parse_softirqs(_read(None, "/proc/softirqs"))


def softirqs_per_cpu() -> dict[str, dict[int, int]]:
    return parse_softirqs_per_cpu(_read(None, "/proc/softirqs"))


def softnet() -> dict[int, Softnet]:
    """Machine-wide, per CPU: every namespace shows the same softnet_stat."""
    return parse_softnet(_read(None, "/proc/net/softnet_stat"))


def interrupts() -> dict[str, Irq]:
    return parse_interrupts(_read(None, "/proc/interrupts"))


def slabinfo() -> dict[str, Slab]:
    """Machine-wide slab caches (root only)."""
    return parse_slabinfo(_read(None, "/proc/slabinfo"))


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_get(ns: str | None, key: str) -> str:
    return " ".join(_read(ns, sysctl_path(key)).split())


def sysctl_set(ns: str, key: str, value: object) -> str:
    """Set a per-namespace sysctl inside ``ns``; return the old value. Refuses keys
    the kernel keeps machine-wide (outside net.*) and the root namespace."""
    if not ns:
        raise ValueError("labs set sysctls inside lab namespaces only, never in the root namespace")
    if not key.startswith("net."):
        raise ValueError(f"{key} is not a per-namespace (net.*) sysctl")
    old = sysctl_get(ns, key)
    text = " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    with netns.entered(ns):
        with open(sysctl_path(key), "w") as fh:
            fh.write(text)
    return old


def cpu_mask(cpus: Iterable[int]) -> str:
    """{1} → "2", {0, 1} → "3": a CPU set as the hex mask rps_cpus takes ("0": none)."""
    return format(sum(1 << cpu for cpu in set(cpus)), "x")


# sysfs shows the devices of the namespace it was mounted in, not the caller's: the
# script runs under `ip netns exec`, which mounts the namespace's own /sys in a
# private mount namespace that ends with the command.
_RPS_SCRIPT = """set -e
for q in /sys/class/net/"$1"/queues/rx-*; do
  [ -e "$q/rps_cpus" ] || exit 3
  cat "$q/rps_cpus"
  echo "$2" > "$q/rps_cpus"
done"""


def rps_set(ns: str, ifname: str, cpus: Iterable[int]) -> list[str]:
    """Steer the receive work of ``ifname`` in namespace ``ns`` to ``cpus`` (RPS: the
    rps_cpus of each of its rx queues; an empty set turns RPS off). Returns the old
    masks; FileNotFoundError if the kernel has no RPS (CONFIG_RPS)."""
    if not ns:
        raise ValueError("labs steer RPS inside lab namespaces only, never in the root namespace")
    done = subprocess.run(["ip", "netns", "exec", ns, "sh", "-c", _RPS_SCRIPT, "rps", ifname, cpu_mask(cpus)],
                          capture_output=True, text=True, timeout=30)
    if done.returncode == 3:
        raise FileNotFoundError(f"{ifname} has no rps_cpus: this kernel lacks RPS (CONFIG_RPS)")
    if done.returncode:
        raise RuntimeError(f"rps_cpus of {ifname} in {ns}: {done.stderr.strip()}")
    return done.stdout.split()
