"""Capture to a pcap file with scapy's AsyncSniffer and a BPF filter, bounded by
count and time."""

from __future__ import annotations

import time

from netlab.traffic.scapyns import scapy_here


def capture(path: str, iface: str | None = None, bpf: str | None = None, count: int = 100,
            seconds: float = 5.0, ready=None) -> dict:
    """Run in the node: sniff until ``count`` packets or ``seconds``; write them to ``path``.
    ``ready`` (a multiprocessing Event) is set once the sniffer listens."""
    conf = scapy_here()
    from scapy.sendrecv import AsyncSniffer
    from scapy.utils import wrpcap

    sniffer = AsyncSniffer(iface=iface or conf.iface, filter=bpf, count=count, store=True)
    sniffer.start()
    deadline = time.monotonic() + seconds
    while not getattr(sniffer, "running", False) and time.monotonic() < deadline:
        time.sleep(0.01)
    if ready is not None:
        ready.set()
    sniffer.join(max(0.0, deadline - time.monotonic()))
    if sniffer.running:
        sniffer.stop()
    packets = sniffer.results or []
    wrpcap(path, packets)
    return {"path": path, "packets": len(packets), "summary": [p.summary() for p in packets[:20]]}
