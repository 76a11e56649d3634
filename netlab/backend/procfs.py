"""Kernel counters a lab reads, each from inside a node's namespace where the
kernel keeps it per namespace: nstat-style SNMP/netstat counters, sockstat,
interface counters, sysctls; and the machine-wide /proc/softirqs and /proc/slabinfo.

Reads go through /proc/thread-self/net: /proc/net follows the process's main
thread, which may sit in another namespace than the thread that entered a node.
"""

from __future__ import annotations

from collections import Counter
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
    """/proc/net/dev → {"eth0": {"rx_packets": .., "tx_packets": .., "rx_bytes": .., "tx_bytes": ..}}."""
    out = {}
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(":")
        v = [int(x) for x in rest.split()]
        out[name.strip()] = {"rx_bytes": v[0], "rx_packets": v[1], "tx_bytes": v[8], "tx_packets": v[9]}
    return out


def parse_softirqs(text: str) -> dict[str, int]:
    """/proc/softirqs → {"NET_RX": total over CPUs, ...}."""
    out = {}
    for line in text.splitlines()[1:]:
        name, _, rest = line.partition(":")
        out[name.strip()] = sum(int(x) for x in rest.split())
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
