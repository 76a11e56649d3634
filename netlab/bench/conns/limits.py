"""The limits a million-connection run meets, read from the running kernel at start.

Nothing here is hard-coded: every figure comes from /proc or getrlimit(2), so
the plan (``plan.py``) derives workers, client IPs and ports from what this
machine really allows (book §8.2: nofile, fs.nr_open, fs.file-max).

Which of them a lab can change: ``net.ipv4.ip_local_port_range``,
``net.core.somaxconn`` and ``net.ipv4.tcp_max_syn_backlog`` are per network
namespace and are set in the lab's namespaces by its topology. ``fs.file-max``,
``fs.nr_open`` and ``net.netfilter.nf_conntrack_max`` are global (the last is
read-only in a child namespace on this kernel): netlab never changes them.
"""

from __future__ import annotations

import os
import resource
from dataclasses import asdict, dataclass

from netlab.backend import procfs
from netlab.backend.procfs import CAP_SYS_ADMIN, CAP_SYS_RESOURCE, sysctl_read as read_sysctl


def meminfo(text: str | None = None) -> dict[str, int]:
    """/proc/meminfo as bytes per field."""
    return procfs.meminfo() if text is None else procfs.parse_meminfo(text)


@dataclass(frozen=True)
class Limits:
    """What bounds the number of connections on this machine, as read at start."""

    nofile_soft: int
    nofile_hard: int
    nr_open: int
    file_max: int
    files_open: int
    cap_sys_admin: bool
    cap_sys_resource: bool
    pid_max: int
    nproc: int
    conntrack_max: int | None
    mem_total: int
    mem_available: int
    port_range_host: tuple[int, int]
    somaxconn_host: int
    syn_backlog_host: int
    page_size: int
    cpus: int = 1                       # CPUs this process may run on (sched_getaffinity)

    def to_json(self) -> dict:
        return asdict(self)

    @property
    def file_max_applies(self) -> bool:
        """fs.file-max stops only processes without CAP_SYS_ADMIN (fs/file_table.c alloc_empty_file)."""
        return not self.cap_sys_admin


def read() -> Limits:
    """The limits of this machine and process, now."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nproc = resource.getrlimit(resource.RLIMIT_NPROC)[0]
    caps = procfs.capabilities()
    mem = meminfo()
    lo, hi = (int(x) for x in (read_sysctl("net.ipv4.ip_local_port_range") or "32768 60999").split())
    conntrack = read_sysctl("net.netfilter.nf_conntrack_max")
    file_nr = (read_sysctl("fs.file-nr") or "0 0 0").split()
    return Limits(
        nofile_soft=soft, nofile_hard=hard,
        nr_open=int(read_sysctl("fs.nr_open") or 1048576),
        file_max=int(read_sysctl("fs.file-max") or 0),
        files_open=int(file_nr[0]),
        cap_sys_admin=bool(caps >> CAP_SYS_ADMIN & 1), cap_sys_resource=bool(caps >> CAP_SYS_RESOURCE & 1),
        pid_max=int(read_sysctl("kernel.pid_max") or 32768),
        nproc=nproc if nproc != resource.RLIM_INFINITY else 1 << 30,
        conntrack_max=int(conntrack) if conntrack else None,
        mem_total=mem.get("MemTotal", 0), mem_available=mem.get("MemAvailable", 0),
        port_range_host=(lo, hi),
        somaxconn_host=int(read_sysctl("net.core.somaxconn") or 4096),
        syn_backlog_host=int(read_sysctl("net.ipv4.tcp_max_syn_backlog") or 1024),
        page_size=os.sysconf("SC_PAGE_SIZE"),
        cpus=len(os.sched_getaffinity(0)),
    )
