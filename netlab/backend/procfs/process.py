"""Counters of one process (/proc/PID/...): CPU time, context switches, threads, memory,
and the sockstat and TCP listeners of the namespace it is in."""

from __future__ import annotations

import os
from collections.abc import Iterable

from netlab.backend.procfs.files import text
from netlab.backend.procfs.parse import parse_sockstat

CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24


def process_cpu(pid: int) -> tuple[int, int]:
    """(CPU time in ns, context switches) of a process so far."""
    ns = int(text(f"/proc/{pid}/schedstat").split()[0])
    switches = 0
    for line in text(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key.endswith("ctxt_switches"):  # voluntary and nonvoluntary
            switches += int(value)
    return ns, switches


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (field 3 onwards)."""
    return text(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()


def ticks(pid: int) -> tuple[int, int]:
    """(user, system) clock ticks of a process so far, exited threads included (/proc/PID/stat)."""
    after_comm = _stat(pid)
    return int(after_comm[11]), int(after_comm[12])  # utime, stime: fields 14 and 15


def start_ticks(pid: int) -> int | None:
    """When process ``pid`` started, in clock ticks since boot (field 22): with the pid, it names
    one process for good (a pid is recycled, a start time with it is not). None if there is none."""
    try:
        return int(_stat(pid)[19])
    except (OSError, ValueError, IndexError):
        return None


def run_ns(pid: int) -> int:
    """Time process ``pid`` has run so far, in ns (/proc/PID/schedstat; 0 if it is gone)."""
    try:
        return int(text(f"/proc/{pid}/schedstat").split()[0])
    except (OSError, ValueError, IndexError):
        return 0


def named(prefix: str) -> list[int]:
    """Pids of the processes (kernel threads too) whose name starts with ``prefix`` (ksoftirqd/...)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if text(f"/proc/{pid}/comm").startswith(prefix):
                found.append(int(pid))
        except OSError:
            continue
    return found


def ksoftirqd_ns(cpus: Iterable[int] | None = None) -> int:
    """Time the ksoftirqd threads of ``cpus`` (all CPUs if None) have run, in ns: softirq
    work the kernel deferred to them is charged to no process that raised it."""
    want = None if cpus is None else {f"ksoftirqd/{cpu}" for cpu in cpus}
    return sum(run_ns(pid) for pid in named("ksoftirqd/")
               if want is None or _comm(pid) in want)


def _comm(pid: int) -> str:
    try:
        return text(f"/proc/{pid}/comm").strip()
    except OSError:
        return ""


def threads(pid: int) -> list[tuple[int, int, int]]:
    """(voluntary switches, involuntary switches, CPU ns) of each live thread of ``pid``
    (/proc/PID/task/*: /proc/PID/status alone describes the main thread); ProcessLookupError if gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    out = []
    for tid in tids:
        base = f"/proc/{pid}/task/{tid}"
        try:
            status, sched = text(f"{base}/status"), text(f"{base}/schedstat")
        except (FileNotFoundError, ProcessLookupError):
            continue  # the thread ended between listing and reading
        counts = {k: int(v) for k, _, v in (ln.partition(":") for ln in status.splitlines())
                  if k in ("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")}
        out.append((counts.get("voluntary_ctxt_switches", 0), counts.get("nonvoluntary_ctxt_switches", 0),
                    int(sched.split()[0])))
    return out


def cpu_seconds(pids: list[int] | tuple[int, ...]) -> tuple[float, float]:
    """(user, system) CPU seconds used so far by processes ``pids`` (those gone count 0)."""
    tick = os.sysconf("SC_CLK_TCK")
    user = system = 0
    for pid in pids:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / tick, system / tick


def pss(pid: int) -> int:
    """Proportional set size of a process in bytes (shared pages divided among their sharers)."""
    try:
        for line in text(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def sockstat_of(pid: int) -> dict[str, dict[str, int]]:
    """sockstat as seen from the network namespace of process ``pid`` (inuse and tw are per namespace)."""
    return parse_sockstat(text(f"/proc/{pid}/net/sockstat"))


def listening(pid: int, port: int) -> bool:
    """True if the namespace of process ``pid`` has a TCP (IPv4) listener on ``port``."""
    try:
        return f":{port:04X} 00000000:0000 0A" in text(f"/proc/{pid}/net/tcp")
    except OSError:
        return False


def capabilities() -> int:
    """This process's effective capability set, as a bit mask."""
    for line in text("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0
