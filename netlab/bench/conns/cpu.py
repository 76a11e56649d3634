"""What a phase of the run cost in CPU: the workers' exact time, its user/system split, the
softirq threads' time, and the whole machine's shares.

- ``/proc/<pid>/schedstat`` gives each worker's run time in ns, exactly. This
  kernel has no CONFIG_IRQ_TIME_ACCOUNTING, so a softirq that runs on the way
  out of a worker's system call (over veth: the whole handshake of both ends,
  raised by the send) is counted in that worker's time.
- ``/proc/<pid>/stat`` utime/stime are tick samples (4 ms at HZ=250): used only
  to split the exact time into user and system.
- ksoftirqd threads run the softirqs that were deferred (too many in a row,
  or raised while one was running): their schedstat time is the rest of the
  connection's kernel work.
- ``/proc/stat`` gives the machine's shares (user, system, softirq, idle,
  steal), which on a shared machine include other people's work.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from netlab.backend import procfs
from netlab.backend.procfs import CPU_FIELDS

TICK = os.sysconf("SC_CLK_TCK")


run_ns = procfs.run_ns


def ticks(pid: int) -> tuple[int, int]:
    """(utime, stime) clock ticks of process ``pid`` ((0, 0) if it is gone)."""
    try:
        return procfs.ticks(pid)
    except (OSError, ValueError, IndexError):
        return 0, 0


def softirq_threads() -> list[int]:
    """Pids of the per-CPU ksoftirqd threads."""
    return procfs.named("ksoftirqd/")


def machine(text: str | None = None) -> dict[str, int]:
    """The machine's CPU time so far, in ticks per kind (the "cpu" line of /proc/stat)."""
    if text is None:
        return procfs.machine_cpu()
    return dict(zip(CPU_FIELDS, procfs.parse_stat(text)["cpu"]))


def shares(before: dict[str, int], after: dict[str, int]) -> dict[str, float]:
    """Per cent of the machine's time in each kind between two ``machine`` readings."""
    delta = {k: after[k] - before[k] for k in CPU_FIELDS}
    total = sum(delta.values()) or 1
    return {k: round(100 * v / total, 1) for k, v in delta.items()}


@dataclass(frozen=True)
class Reading:
    """CPU counters of the workers (per side), the softirq threads and the machine at one moment."""

    ns: dict[str, int]                      # side -> exact run time of its workers
    ticks: dict[str, tuple[int, int]]       # side -> (utime, stime)
    softirqd_ns: int
    machine: dict[str, int]


def read(pids: dict[str, list[int]], softirqd: list[int]) -> Reading:
    return Reading(ns={side: sum(run_ns(p) for p in ps) for side, ps in pids.items()},
                   ticks={side: tuple(map(sum, zip(*(ticks(p) for p in ps)))) if ps else (0, 0)
                          for side, ps in pids.items()},
                   softirqd_ns=sum(run_ns(p) for p in softirqd), machine=machine())


def phase(before: Reading, after: Reading, conns: int | None = None) -> dict:
    """What happened between two readings: per side the exact CPU seconds split into user and
    system by the ticks, the softirq threads' seconds, the machine's shares, and (``conns``
    given) the CPU µs per connection."""
    out: dict = {}
    total = 0
    for side in after.ns:
        ns = after.ns[side] - before.ns.get(side, 0)
        user, system = (a - b for a, b in zip(after.ticks[side], before.ticks.get(side, (0, 0))))
        user_share = user / (user + system) if user + system else 0.0
        out[side] = {"cpu_s": round(ns / 1e9, 3), "user_s": round(ns * user_share / 1e9, 3),
                     "system_s": round(ns * (1 - user_share) / 1e9, 3)}
        total += ns
    softirqd = after.softirqd_ns - before.softirqd_ns
    out["ksoftirqd_s"] = round(softirqd / 1e9, 3)
    out["machine_pct"] = shares(before.machine, after.machine)
    if conns:
        out["us_per_conn"] = {**{side: round((after.ns[side] - before.ns.get(side, 0)) / 1e3 / conns, 2)
                                 for side in after.ns},
                              "ksoftirqd": round(softirqd / 1e3 / conns, 2),
                              "total": round((total + softirqd) / 1e3 / conns, 2)}
    return out
