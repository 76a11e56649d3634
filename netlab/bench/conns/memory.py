"""What the connections cost: slab caches, /proc/meminfo, sockstat, and the workers' PSS.

Book ch. 7 (§7.2.4, §7.4) measures a connection by the growth of the slab
caches it allocates from (TCP, sock_inode_cache, dentry, filp, ...). A
snapshot here is taken before the ramp and again with every connection up;
the difference divided by the connections is the kernel's cost. Every reader
takes the file's text (for tests) or reads the live file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from netlab.backend import procfs
from netlab.backend.procfs import pss, sockstat_of  # noqa: F401  (this bench's readers)
from netlab.bench.conns.limits import meminfo

# one parser of /proc/net/sockstat for the labs and this bench
sockstat = procfs.parse_sockstat


def slabinfo(text: str | None = None, page_size: int | None = None) -> dict[str, int]:
    """Bytes held by each slab cache (its slabs × pages per slab × page size), from /proc/slabinfo."""
    if text is None:
        return procfs.slab_bytes()
    return procfs.parse_slab_bytes(text, page_size or os.sysconf("SC_PAGE_SIZE"))


# The caches a TCP connection allocates from (book §7.3: socket, inode, dentry, file; the
# client's port buckets; LSM blobs; kmalloc'd pieces). Growth elsewhere during a run is
# someone else's: on a shared machine, e.g. a process listing /proc/<pid>/fd of the
# workers fills proc_inode_cache with one inode per descriptor.
CONNECTION_CACHES = ("TCP", "sock_inode_cache", "dentry", "filp", "tcp_bind_bucket", "tcp_bind2_bucket",
                     "eventpoll_epi", "lsm_inode_cache", "lsm_file_cache", "request_sock_TCP", "tw_sock_TCP",
                     "skbuff_head_cache", "skbuff_small_head", "kmalloc-", "kmalloc-cg-")


def of_connection(name: str, aliases: dict[str, list[str]] | None = None) -> bool:
    """True if cache ``name`` (or a cache SLUB merged into it) is one a connection allocates from."""
    names = [name] + list((aliases or {}).get(name, ()))
    return any(n == c or (c.endswith("-") and n.startswith(c)) for n in names for c in CONNECTION_CACHES)


def merged_caches(root: str = "/sys/kernel/slab") -> dict[str, list[str]]:
    """For each cache /proc/slabinfo shows, the other caches SLUB merged into it (its aliases).

    slabinfo lists a merged group under one name only: on this kernel ``eventpoll_epi``
    also holds ``tcp_bind_bucket`` and ``tcp_bind2_bucket``. /sys/kernel/slab has one
    symlink per name, all pointing at the group's directory."""
    groups: dict[str, list[str]] = {}
    try:
        entries = os.listdir(root)
    except OSError:
        return {}
    for name in entries:
        path = os.path.join(root, name)
        if os.path.islink(path):
            groups.setdefault(os.readlink(path).rsplit("/", 1)[-1], []).append(name)
    return {n: sorted(a for a in names if a != n) for names in groups.values() for n in names}


@dataclass(frozen=True)
class Snapshot:
    """Kernel and worker memory at one moment."""

    slab: dict[str, int]
    meminfo: dict[str, int]
    pss: int = 0

    @property
    def slab_total(self) -> int:
        return sum(self.slab.values())

    @property
    def meminfo_slab(self) -> int:
        return self.meminfo.get("Slab", 0)


def snapshot(pids: list[int] | tuple[int, ...] = ()) -> Snapshot:
    """Slab caches and /proc/meminfo read back to back (so the two agree), plus the workers' summed PSS."""
    slab = slabinfo()
    mem = meminfo()
    return Snapshot(slab=slab, meminfo=mem, pss=sum(pss(p) for p in pids))


def available(now: dict[str, int], before: dict[str, int]) -> int:
    """MemAvailable less the growth of SReclaimable since ``before``: what is really left.

    The kernel counts the dentry and sock_inode_cache slabs as reclaimable and
    MemAvailable adds them in, but an open socket pins its dentry and inode: at
    2.5 M connections ~5 GiB that MemAvailable offers cannot be freed, and a
    guard trusting it let the OOM killer in (issue 14, a `--target max` run)."""
    pinned = max(0, now.get("SReclaimable", 0) - before.get("SReclaimable", 0))
    return now.get("MemAvailable", 0) - pinned


@dataclass(frozen=True)
class Cost:
    """The growth between two snapshots, per connection and per socket."""

    conns: int
    sockets: int
    slab_delta: int
    meminfo_slab_delta: int
    per_cache: dict[str, int] = field(default_factory=dict)
    pss: int = 0

    @property
    def kernel_bytes_per_conn(self) -> float:
        return self.slab_delta / self.conns if self.conns else 0.0

    @property
    def kernel_bytes_per_socket(self) -> float:
        return self.slab_delta / self.sockets if self.sockets else 0.0

    @property
    def meminfo_bytes_per_socket(self) -> float:
        return self.meminfo_slab_delta / self.sockets if self.sockets else 0.0

    @property
    def agreement_pct(self) -> float:
        """How far the per-cache sum is from /proc/meminfo's Slab growth, in per cent."""
        if not self.meminfo_slab_delta:
            return 0.0
        return 100.0 * (self.slab_delta - self.meminfo_slab_delta) / self.meminfo_slab_delta

    def split(self, aliases: dict[str, list[str]] | None = None) -> tuple[int, dict[str, int]]:
        """(growth of the connection's own caches, {other cache: growth}) — the second is noise."""
        own = sum(d for n, d in self.per_cache.items() if of_connection(n, aliases))
        others = {n: d for n, d in self.per_cache.items() if not of_connection(n, aliases) and d}
        return own, others

    def caches(self, top: int = 12, aliases: dict[str, list[str]] | None = None) -> dict[str, dict]:
        """The caches that grew most: bytes in all and per connection, and the caches merged into each."""
        ranked = sorted(self.per_cache.items(), key=lambda kv: -abs(kv[1]))[:top]
        out = {}
        for name, delta in ranked:
            if delta:
                out[name] = {"bytes": delta, "bytes_per_conn": round(delta / self.conns, 1) if self.conns else 0.0}
                if aliases and aliases.get(name):
                    out[name]["merged_with"] = aliases[name]
        return out


def cost(before: Snapshot, after: Snapshot, conns: int, sockets: int) -> Cost:
    names = set(before.slab) | set(after.slab)
    per_cache = {n: after.slab.get(n, 0) - before.slab.get(n, 0) for n in names}
    return Cost(conns=conns, sockets=sockets, slab_delta=sum(per_cache.values()),
                meminfo_slab_delta=after.meminfo_slab - before.meminfo_slab,
                per_cache=per_cache, pss=after.pss)
