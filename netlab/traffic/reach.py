"""Which nodes of a lab reach which addresses: ICMP echo, all pairs at once, from one process.

One raw ICMP socket per source node, opened inside its namespace; every echo
request goes out at once and replies are matched by (identifier, sequence), the
missing ones sent again until a deadline. A thousand pairs take about a second,
where a `ping` process per pair takes minutes.

The machine's one neighbour table (backend/neigh.py) holds ~1,000 entries for
all namespaces together, and each pair on a LAN costs two: pairs go in batches
that fit the room left, and the lab's neighbours are flushed after each, so a
check never overflows the table for everyone else on the machine.
"""

from __future__ import annotations

import ipaddress
import os
import selectors
import socket
import struct
import time
from collections.abc import Iterable

from netlab import names
from netlab.node import inside as inside_node
from netlab.backend import neigh, netns

ECHO_REQUEST, ECHO_REPLY = 8, 0
RESEND_S = 0.5
MARGIN = 128  # neighbour entries left for everyone else


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def _echo(ident: int, seq: int) -> bytes:
    payload = b"netlab-reach"
    head = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, ident, seq)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, _checksum(head + payload), ident, seq) + payload


class _Source:
    """One node's raw socket and the addresses it should reach."""

    def __init__(self, lab: str, node: str, targets: list[str], ident: int):
        with inside_node(lab, node):
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        self.sock.setblocking(False)
        self.node, self.targets, self.ident = node, targets, ident
        self.answered: set[int] = set()

    def send_missing(self) -> None:
        for seq, address in enumerate(self.targets):
            if seq not in self.answered:
                try:
                    self.sock.sendto(_echo(self.ident, seq), (address, 0))
                except (BlockingIOError, OSError):
                    pass  # no route, or a full queue: it stays missing and is sent again

    def receive(self) -> None:
        while True:
            try:
                data = self.sock.recv(2048)
            except BlockingIOError:
                return
            ihl = (data[0] & 0x0F) * 4
            if len(data) >= ihl + 8:
                kind, _, _, ident, seq = struct.unpack("!BBHHH", data[ihl:ihl + 8])
                if kind == ECHO_REPLY and ident == self.ident and seq < len(self.targets):
                    src = socket.inet_ntoa(data[12:16])
                    if src == self.targets[seq]:
                        self.answered.add(seq)

    @property
    def done(self) -> bool:
        return len(self.answered) == len(self.targets)


def unreachable(lab: str, pairs: Iterable[tuple[str, str]], timeout: float = 10.0) -> list[tuple[str, str]]:
    """The (node, IPv4 address) pairs of ``pairs`` with no echo reply within ``timeout``
    seconds (per batch); the lab's neighbour tables are flushed after each batch."""
    todo = [(node, str(ipaddress.IPv4Address(str(address)))) for node, address in pairs]
    mine = [ns for ns in netns.listing() if (names.parse_netns(ns) or ("",))[0] == lab]
    failed: list[tuple[str, str]] = []
    while todo:
        room = neigh.room()
        size = max(16, ((room if room is not None else 1024) - MARGIN) // 2)
        batch, todo = todo[:size], todo[size:]
        try:
            failed += _check(lab, batch, timeout)
        finally:
            neigh.flush(mine)
    return failed


def _check(lab: str, pairs: list[tuple[str, str]], timeout: float) -> list[tuple[str, str]]:
    wanted: dict[str, list[str]] = {}
    for node, address in pairs:
        wanted.setdefault(node, []).append(address)
    sources: list[_Source] = []
    try:
        base = os.getpid() & 0x7FFF
        for n, (node, targets) in enumerate(wanted.items()):
            sources.append(_Source(lab, node, targets, (base + n) & 0xFFFF))
        with selectors.DefaultSelector() as sel:  # epoll: more sources than select()'s 1,024 fds
            for s in sources:
                sel.register(s.sock, selectors.EVENT_READ, s)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and not all(s.done for s in sources):
                for s in sources:
                    if not s.done:
                        s.send_missing()
                resend = min(deadline, time.monotonic() + RESEND_S)
                while time.monotonic() < resend and not all(s.done for s in sources):
                    for key, _ in sel.select(max(0.0, resend - time.monotonic())):
                        key.data.receive()
        return [(s.node, a) for s in sources for seq, a in enumerate(s.targets) if seq not in s.answered]
    finally:
        for s in sources:
            s.sock.close()
