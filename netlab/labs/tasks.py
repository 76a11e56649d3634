"""What a process and all its threads have cost so far, from /proc/PID/task/*.

/proc/PID/status and /proc/PID/schedstat describe the thread group leader only;
a thread-per-connection server does its work (and its waiting) in other threads,
so the counters are summed over every task. Machine-wide, like /proc/softirqs:
a pid is not namespaced by a lab's network namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class TaskCounters:
    """Sums over a process's live threads; user/system cover exited threads too."""

    voluntary: int = 0     # context switches into a wait (blocked in read(), accept(), epoll_wait())
    involuntary: int = 0   # preempted while runnable
    cpu_ns: int = 0        # time on a CPU (schedstat, exact)
    user_s: float = 0.0    # CPU time in user space, /proc/PID/stat (clock ticks)
    system_s: float = 0.0  # CPU time in the kernel, /proc/PID/stat (clock ticks)
    threads: int = 0

    def __sub__(self, before: "TaskCounters") -> "TaskCounters":
        return TaskCounters(**{f.name: getattr(self, f.name) - getattr(before, f.name) for f in fields(self)})

    @property
    def switches(self) -> int:
        return self.voluntary + self.involuntary


def _switches(path: str) -> tuple[int, int]:
    vol = invol = 0
    with open(path) as fh:
        for line in fh:
            if line.startswith("voluntary_ctxt_switches:"):
                vol = int(line.split()[1])
            elif line.startswith("nonvoluntary_ctxt_switches:"):
                invol = int(line.split()[1])
    return vol, invol


def _ticks(pid: int) -> tuple[int, int]:
    with open(f"/proc/{pid}/stat") as fh:
        after_comm = fh.read().rsplit(")", 1)[1].split()
    return int(after_comm[11]), int(after_comm[12])  # utime, stime: fields 14 and 15


def counters(pid: int) -> TaskCounters:
    """Context switches and CPU time of ``pid`` and every thread it has now.
    ProcessLookupError if the process is gone."""
    vol = invol = cpu = count = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
        utime, stime = _ticks(pid)
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            v, i = _switches(f"{base}/status")
            with open(f"{base}/schedstat") as fh:
                ns = int(fh.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between listing and reading
        vol, invol, cpu, count = vol + v, invol + i, cpu + ns, count + 1
    return TaskCounters(vol, invol, cpu, utime / TICK, stime / TICK, count)
