"""What a process and all its threads have cost so far, from /proc/PID/task/*.

/proc/PID/status and /proc/PID/schedstat describe the thread group leader only;
a thread-per-connection server does its work (and its waiting) in other threads,
so the counters are summed over every task. Machine-wide, like /proc/softirqs:
a pid is not namespaced by a lab's network namespace.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields

from netlab.backend import procfs

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


def counters(pid: int) -> TaskCounters:
    """Context switches and CPU time of ``pid`` and every thread it has now.
    ProcessLookupError if the process is gone."""
    try:
        utime, stime = procfs.ticks(pid)
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    per_thread = procfs.threads(pid)
    vol, invol, cpu = (sum(t[i] for t in per_thread) for i in range(3))
    return TaskCounters(vol, invol, cpu, utime / TICK, stime / TICK, len(per_thread))
