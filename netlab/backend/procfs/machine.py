"""Machine-wide counters: softirqs, softnet_stat, interrupts, slab caches, memory, CPU
time and pressure (the same from every namespace)."""

from __future__ import annotations

import os

from netlab.backend.procfs.files import text
from netlab.backend.procfs.parse import (CPU_FIELDS, Irq, Slab, Softnet, parse_interrupts, parse_meminfo,
                                        parse_slab_bytes, parse_slabinfo, parse_softirqs, parse_softirqs_per_cpu,
                                        parse_softnet, parse_stat)


def softirqs() -> dict[str, int]:
    """Softirqs so far, summed over CPUs (they are counted per CPU, not per namespace)."""
    return parse_softirqs(text("/proc/softirqs"))


def softirqs_per_cpu() -> dict[str, dict[int, int]]:
    return parse_softirqs_per_cpu(text("/proc/softirqs"))


def softnet() -> dict[int, Softnet]:
    """Machine-wide, per CPU: every namespace shows the same softnet_stat."""
    return parse_softnet(text("/proc/net/softnet_stat"))


def interrupts() -> dict[str, Irq]:
    return parse_interrupts(text("/proc/interrupts"))


def slabinfo() -> dict[str, Slab]:
    """Machine-wide slab caches (root only)."""
    return parse_slabinfo(text("/proc/slabinfo"))


def slab_bytes() -> dict[str, int]:
    return parse_slab_bytes(text("/proc/slabinfo"), os.sysconf("SC_PAGE_SIZE"))


def namespaces_alive() -> int | None:
    """Network namespaces the kernel holds right now (its net_namespace slab), or None if unreadable."""
    try:
        slab = slabinfo().get("net_namespace")
    except OSError:
        return None
    return slab.active_objs if slab else None


def meminfo() -> dict[str, int]:
    return parse_meminfo(text("/proc/meminfo"))


def cpu_times() -> dict[str, list[int]]:
    """Per-CPU /proc/stat times in ticks: {"cpu0": [user, nice, ...], ...}."""
    return {cpu: v for cpu, v in parse_stat(text("/proc/stat")).items() if cpu != "cpu"}


def machine_cpu() -> dict[str, int]:
    """The whole machine's CPU time so far, in clock ticks per kind (the "cpu" line of /proc/stat)."""
    return dict(zip(CPU_FIELDS, parse_stat(text("/proc/stat"))["cpu"]))


def cpu_model() -> str | None:
    """The CPU's model name as /proc/cpuinfo gives it (None where it gives none)."""
    try:
        info = text("/proc/cpuinfo")
    except OSError:
        return None
    for line in info.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def cpu_pressure() -> int | None:
    """PSI: µs during which some task waited for a CPU (None where the kernel has no PSI)."""
    try:
        return int(text("/proc/pressure/cpu").splitlines()[0].rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None


def arp_entries() -> int | None:
    """Entries of the IPv4 neighbour table, which every namespace shares (/proc/net/stat/arp_cache)."""
    try:
        return int(text("/proc/net/stat/arp_cache").splitlines()[1].split()[0], 16)
    except (OSError, ValueError, IndexError):
        return None
