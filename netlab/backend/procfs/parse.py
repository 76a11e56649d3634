"""Parsers of the /proc files netlab reads: each takes the file's text (so tests need no
kernel) and returns plain data."""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")


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
    """/proc/slabinfo → objects of each cache."""
    out = {}
    for line in text.splitlines()[2:]:
        f = line.split()
        out[f[0]] = Slab(int(f[1]), int(f[2]), int(f[3]))
    return out


def parse_slab_bytes(text: str, page_size: int) -> dict[str, int]:
    """/proc/slabinfo → bytes each cache holds (its slabs × pages per slab × page size)."""
    out = {}
    for line in text.splitlines():
        if line.startswith(("slabinfo", "#")) or ":" not in line:
            continue
        head, _, rest = line.partition(":")
        cols = head.split()
        slabdata = rest.split("slabdata")[-1].split()
        if len(cols) >= 6 and len(slabdata) >= 2:
            out[cols[0]] = int(slabdata[1]) * int(cols[5]) * page_size
    return out


def parse_meminfo(text: str) -> dict[str, int]:
    """/proc/meminfo → bytes per field (plain counts, e.g. HugePages_Total, as they are)."""
    out = {}
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts:
            out[key] = int(parts[0]) * (1024 if len(parts) > 1 and parts[1] == "kB" else 1)
    return out


def parse_stat(text: str) -> dict[str, list[int]]:
    """The cpu lines of /proc/stat in clock ticks: {"cpu": [user, nice, ...], "cpu0": [...], ...}."""
    out = {}
    for line in text.splitlines():
        if line.startswith("cpu"):
            parts = line.split()
            out[parts[0]] = [int(v) for v in parts[1:1 + len(CPU_FIELDS)]]
    return out


def parse_ss_states(text: str) -> Counter:
    """`ss -Htan` output → Counter of TCP states as ss names them (ESTAB, TIME-WAIT, ...)."""
    return Counter(line.split()[0] for line in text.splitlines() if line.strip())


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    """after − before for every counter; counters absent before count from 0."""
    return {k: v - before.get(k, 0) for k, v in after.items()}
