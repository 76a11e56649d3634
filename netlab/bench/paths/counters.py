"""What a measured window cost the machine, read from /proc: NET_RX softirqs,
per-CPU times (steal, foreign load) and the engine processes' own CPU time and
context switches. Light on purpose: the engine's client process imports it.
"""

from __future__ import annotations

import os
import resource
import time

from netlab.backend import procfs
from netlab.backend.procfs import CPU_FIELDS, cpu_pressure, cpu_times

TICK = os.sysconf("SC_CLK_TCK")
# A round is flagged when others took more than this share of one CPU, or the
# hypervisor stole more than this share of the machine. "Others" includes the
# kernel's own share of the engine's work done outside its two processes (the
# wake-up IPI on an idle CPU, ksoftirqd draining a veth backlog): measured here
# with nothing else running, that is 5–20 % of a CPU, while a disturbed run
# shows 45 % and more.
FOREIGN_LIMIT = 0.25
STEAL_LIMIT = 0.02


def softirqs(kind: str = "NET_RX") -> int:
    """Sum over CPUs of one /proc/softirqs row."""
    return procfs.softirqs().get(kind, 0)


def children_cpu_ns() -> int:
    """CPU time of this process's reaped children so far (for a client that has exited)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int((ru.ru_utime + ru.ru_stime) * 1e9)


def snapshot(pids: list[int]) -> dict:
    return {"t_ns": time.monotonic_ns(), "net_rx": softirqs(), "cpu": cpu_times(), "psi_us": cpu_pressure(),
            "procs": {str(p): procfs.process_cpu(p) for p in pids}}


def delta(before: dict, after: dict) -> dict:
    """What happened between two snapshots, in plain units."""
    cpus = {}
    for cpu, values in after["cpu"].items():
        old = before["cpu"].get(cpu, values)
        cpus[cpu] = {f: (v - o) / TICK for f, v, o in zip(CPU_FIELDS, values, old)}
    procs = {pid: (after["procs"][pid][0] - ns, after["procs"][pid][1] - sw)
             for pid, (ns, sw) in before["procs"].items() if pid in after["procs"]}
    psi = after.get("psi_us"), before.get("psi_us")
    return {"seconds": (after["t_ns"] - before["t_ns"]) / 1e9,
            "net_rx": after["net_rx"] - before["net_rx"],
            "cpu_wait_us": psi[0] - psi[1] if None not in psi else None,
            "cpu": cpus,
            "proc_cpu_ns": sum(ns for ns, _ in procs.values()),
            "ctx_switches": sum(sw for _, sw in procs.values())}


def interference(d: dict) -> dict:
    """Steal time and load from processes other than the engine's during a window.

    busy = elapsed − idle − iowait − steal on every CPU (a tickless kernel counts
    idle exactly, while user and system are sampled at the tick and miss a process
    that sleeps between transactions); foreign = busy − the engine processes' own
    CPU time (exact, from /proc/PID/schedstat), as a share of one CPU. Also the
    share of the window in which some task waited for a CPU (PSI), where present."""
    seconds = max(d["seconds"], 1e-9)
    idle = sum(c["idle"] + c["iowait"] + c["steal"] for c in d["cpu"].values())
    steal = sum(c["steal"] for c in d["cpu"].values())
    busy = seconds * len(d["cpu"]) - idle
    foreign = max(0.0, busy - d["proc_cpu_ns"] / 1e9) / seconds
    steal_share = steal / (seconds * max(len(d["cpu"]), 1))
    waited = d.get("cpu_wait_us")
    why = []
    if foreign > FOREIGN_LIMIT:
        why.append(f"other processes used {foreign:.0%} of a CPU")
    if steal_share > STEAL_LIMIT:
        why.append(f"the hypervisor stole {steal_share:.1%} of CPU time")
    return {"foreign_cpu": round(foreign, 3), "steal": round(steal_share, 4),
            "cpu_wait": round(waited / 1e6 / seconds, 3) if waited is not None else None, "flagged": bool(why),
            "why": "; ".join(why)}


def per_transaction(d: dict, transactions: int) -> dict:
    """Cost of one transaction: CPU µs of both engine processes, NET_RX softirqs, context switches."""
    n = max(transactions, 1)
    return {"cpu_us": round(d["proc_cpu_ns"] / 1e3 / n, 3),
            "net_rx_softirqs": round(d["net_rx"] / n, 3),
            "ctx_switches": round(d["ctx_switches"] / n, 3)}
