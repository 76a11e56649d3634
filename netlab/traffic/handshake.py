"""A TCP handshake by hand: SYN, the server's SYN-ACK, and (if asked) the final ACK,
with no socket on this side. The kernel's RST is held back by an nftables rule
for as long as ``hold`` seconds, so the server keeps its half of the connection."""

from __future__ import annotations

import random
import time

from netlab.traffic.rst import rst_suppressed
from netlab.traffic.scapyns import scapy_here


def handshake(dst: str, dport: int, sport: int | None = None, ack: bool = True,
              timeout: float = 2.0, hold: float = 0.0) -> dict:
    """Run in the node: {"synack": bool, "state": "SYN_RECV"|"ESTABLISHED"|"no answer", ...}.
    Without ``ack`` the server is left with a half-open (SYN_RECV) request."""
    scapy_here()
    from scapy.layers.inet import IP, TCP
    from scapy.sendrecv import send, sr1

    sport = sport or random.randint(20000, 60000)
    seq = random.getrandbits(32)
    with rst_suppressed(dst, dport):
        synack = sr1(IP(dst=dst) / TCP(sport=sport, dport=dport, flags="S", seq=seq), timeout=timeout)
        if synack is None or TCP not in synack:
            return {"sport": sport, "synack": False, "state": "no answer"}
        flags = str(synack[TCP].flags)
        if "R" in flags:
            return {"sport": sport, "synack": False, "state": "reset", "flags": flags}
        server_seq = synack[TCP].seq
        if ack:
            send(IP(dst=dst) / TCP(sport=sport, dport=dport, flags="A", seq=seq + 1, ack=server_seq + 1))
        time.sleep(hold)
    return {"sport": sport, "synack": True, "flags": flags, "seq": seq, "server_seq": server_seq,
            "state": "ESTABLISHED" if ack else "SYN_RECV"}
