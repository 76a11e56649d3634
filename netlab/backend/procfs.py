"""Every counter netlab reads from /proc, in one place: each file's parser (which
takes the file's text, for tests) and its reader.

Three kinds of counters:

- per network namespace (SNMP/netstat as nstat names them, sockstat, interface
  counters, per-namespace sysctls), read from inside a namespace through
  /proc/thread-self/net: /proc/net follows the process's main thread, which may
  sit in another namespace than the thread that entered a node;
- per process (/proc/PID/...: CPU time, context switches, PSS, the sockstat and
  TCP listeners of the namespace the process is in);
- machine-wide (softirqs, slabinfo, stat, meminfo, CPU pressure).

Stdlib only: the benchmarks' engine processes import it at start-up.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass

from netlab.backend import netns

CPU_FIELDS = ("user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal")
CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24


def _text(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _read(ns: str | None, path: str) -> str:
    with netns.entered(ns):
        return _text(path)


# -- parsers ---------------------------------------------------------------------
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


# -- per namespace ---------------------------------------------------------------------
def nstat(ns: str | None) -> dict[str, int]:
    """Every SNMP and netstat counter of namespace ``ns`` (None: this thread's)."""
    return {**parse_snmp(_read(ns, "/proc/thread-self/net/snmp")),
            **parse_snmp(_read(ns, "/proc/thread-self/net/netstat"))}


def sockstat(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_sockstat(_read(ns, "/proc/thread-self/net/sockstat"))


def netdev(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_netdev(_read(ns, "/proc/thread-self/net/dev"))


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_get(ns: str | None, key: str) -> str:
    """A sysctl's value as namespace ``ns`` sees it (None: this thread's); FileNotFoundError if absent."""
    return " ".join(_read(ns, sysctl_path(key)).split())


def sysctl_read(key: str, default: str | None = None) -> str | None:
    """A sysctl's value as this thread's namespace sees it; ``default`` if it cannot be read."""
    try:
        return _text(sysctl_path(key)).strip()
    except OSError:
        return default


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


# -- per process -------------------------------------------------------------------------
def process_cpu(pid: int) -> tuple[int, int]:
    """(CPU time in ns, context switches) of a process and its threads so far."""
    ns = int(_text(f"/proc/{pid}/schedstat").split()[0])
    switches = 0
    for line in _text(f"/proc/{pid}/status").splitlines():
        key, _, value = line.partition(":")
        if key.endswith("ctxt_switches"):  # voluntary and nonvoluntary
            switches += int(value)
    return ns, switches


def ticks(pid: int) -> tuple[int, int]:
    """(user, system) clock ticks of a process so far, exited threads included (/proc/PID/stat)."""
    after_comm = _text(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
    return int(after_comm[11]), int(after_comm[12])  # utime, stime: fields 14 and 15


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
            status, sched = _text(f"{base}/status"), _text(f"{base}/schedstat")
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
            fields = _text(f"/proc/{pid}/stat").rsplit(")", 1)[1].split()
        except OSError:
            continue
        user, system = user + int(fields[11]), system + int(fields[12])
    return user / tick, system / tick


def pss(pid: int) -> int:
    """Proportional set size of a process in bytes (shared pages divided among their sharers)."""
    try:
        for line in _text(f"/proc/{pid}/smaps_rollup").splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (FileNotFoundError, ProcessLookupError):
        pass
    return 0


def sockstat_of(pid: int) -> dict[str, dict[str, int]]:
    """sockstat as seen from the network namespace of process ``pid`` (inuse and tw are per namespace)."""
    return parse_sockstat(_text(f"/proc/{pid}/net/sockstat"))


def listening(pid: int, port: int) -> bool:
    """True if the namespace of process ``pid`` has a TCP (IPv4) listener on ``port``."""
    try:
        return f":{port:04X} 00000000:0000 0A" in _text(f"/proc/{pid}/net/tcp")
    except OSError:
        return False


def capabilities() -> int:
    """This process's effective capability set, as a bit mask."""
    for line in _text("/proc/self/status").splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


# -- machine-wide ------------------------------------------------------------------------
def softirqs() -> dict[str, int]:
    """Softirqs so far, summed over CPUs (they are counted per CPU, not per namespace)."""
    return parse_softirqs(_text("/proc/softirqs"))


def slabinfo() -> dict[str, Slab]:
    """Machine-wide slab caches (root only)."""
    return parse_slabinfo(_text("/proc/slabinfo"))


def slab_bytes() -> dict[str, int]:
    return parse_slab_bytes(_text("/proc/slabinfo"), os.sysconf("SC_PAGE_SIZE"))


def namespaces_alive() -> int | None:
    """Network namespaces the kernel holds right now (its net_namespace slab), or None if unreadable."""
    try:
        slab = slabinfo().get("net_namespace")
    except OSError:
        return None
    return slab.active_objs if slab else None


def meminfo() -> dict[str, int]:
    return parse_meminfo(_text("/proc/meminfo"))


def cpu_times() -> dict[str, list[int]]:
    """Per-CPU /proc/stat times in ticks: {"cpu0": [user, nice, ...], ...}."""
    return {cpu: v for cpu, v in parse_stat(_text("/proc/stat")).items() if cpu != "cpu"}


def machine_cpu() -> dict[str, int]:
    """The whole machine's CPU time so far, in clock ticks per kind (the "cpu" line of /proc/stat)."""
    return dict(zip(CPU_FIELDS, parse_stat(_text("/proc/stat"))["cpu"]))


def cpu_model() -> str | None:
    """The CPU's model name as /proc/cpuinfo gives it (None where it gives none)."""
    try:
        text = _text("/proc/cpuinfo")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return None


def cpu_pressure() -> int | None:
    """PSI: µs during which some task waited for a CPU (None where the kernel has no PSI)."""
    try:
        return int(_text("/proc/pressure/cpu").splitlines()[0].rsplit("total=", 1)[1])
    except (OSError, IndexError, ValueError):
        return None
