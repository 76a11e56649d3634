"""Send one hand-made packet (TCP with any flags, UDP or ICMP) and report the answers."""

from __future__ import annotations

from netlab.traffic.scapyns import scapy_here


def packet(dst: str, proto: str = "tcp", dport: int = 80, sport: int = 40000, flags: str = "S",
           ttl: int = 64, payload: bytes = b""):
    """The scapy packet the options describe."""
    from scapy.layers.inet import ICMP, IP, TCP, UDP

    l4 = {"tcp": lambda: TCP(sport=sport, dport=dport, flags=flags),
          "udp": lambda: UDP(sport=sport, dport=dport),
          "icmp": lambda: ICMP()}[proto]()
    pkt = IP(dst=dst, ttl=ttl) / l4
    return pkt / payload if payload else pkt


def craft(dst: str, proto: str = "tcp", dport: int = 80, sport: int = 40000, flags: str = "S",
          ttl: int = 64, count: int = 1, timeout: float = 1.0) -> dict:
    """Run in the node: send ``count`` copies, return what was sent and the answers."""
    scapy_here()
    from scapy.sendrecv import sr

    pkt = packet(dst, proto, dport, sport, flags, ttl)
    answered, unanswered = sr([pkt] * count, timeout=timeout, multi=False)
    return {"sent": pkt.summary(), "count": count,
            "answers": [r.summary() for _, r in answered], "unanswered": len(unanswered)}
