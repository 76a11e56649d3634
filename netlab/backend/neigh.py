"""The kernel's neighbour (ARP) table: how much room is left in it, and emptying a lab's share.

The IPv4 neighbour table is one for the whole machine: every namespace's
entries count against ``gc_thresh3`` (1,024 by default, settable only in the
root namespace), and entries younger than 5 s cannot be reclaimed. A lab of
50 hosts all talking to each other needs 2,450; past the limit the kernel
logs "arp_cache: neighbor table overflow!" and packets to unresolved
neighbours are dropped, in every namespace on the machine.
"""

from __future__ import annotations

import socket

from pyroute2.netlink.exceptions import NetlinkError

from netlab.backend import procfs
from netlab.backend.kernel import KernelBackend

_KEEP = 0x80 | 0x40  # NUD_PERMANENT, NUD_NOARP: set by hand or not ARP at all


def room() -> int | None:
    """Entries the table can still take before it overflows, or None if unreadable."""
    limit, entries = procfs.sysctl_read("net.ipv4.neigh.default.gc_thresh3"), procfs.arp_entries()
    if limit is None or entries is None:
        return None
    return int(limit) - entries


def flush(namespaces: list[str]) -> int:
    """Delete the learnt IPv4 neighbours of ``namespaces`` (`ip -n NS neigh flush all`);
    how many went."""
    gone = 0
    backend = KernelBackend()
    try:
        for ns in namespaces:
            ipr = backend.ipr(ns)
            for entry in ipr.neigh("dump", family=socket.AF_INET):
                if entry["state"] & _KEEP:
                    continue
                try:
                    ipr.neigh("del", dst=entry.get_attr("NDA_DST"), ifindex=entry["ifindex"])
                    gone += 1
                except (OSError, NetlinkError):
                    pass  # gone meanwhile
    finally:
        backend.close()
    return gone
