"""Small helpers for integration tests: traffic between lab nodes, read from the kernel."""

from __future__ import annotations

import socket
import threading
import time

from netlab import node as nodeexec


def ping(lab: str, node: str, address: str, count: int = 1) -> bool:
    argv = ["ping", "-c", str(count), "-i", "0.2", "-W", "2", str(address)]
    return nodeexec.run(lab, node, argv, capture=True, timeout=15).returncode == 0


def ping_output(lab: str, node: str, address: str) -> str:
    return nodeexec.run(lab, node, ["ping", "-c", "1", "-W", "2", str(address)], capture=True,
                        timeout=15).stdout.decode()


class TcpServer:
    """A TCP server in a node that records its peers and answers each connection."""

    def __init__(self, lab: str, node: str, port: int, reply: bytes = b"hello\n"):
        with nodeexec.inside(lab, node):
            self.sock = socket.create_server(("0.0.0.0", port), reuse_port=False)
        self.sock.settimeout(0.2)
        self.reply = reply
        self.peers: list[str] = []
        self.received = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                self.peers.append(peer[0])
                conn.settimeout(5)
                try:
                    conn.sendall(self.reply)
                    while chunk := conn.recv(1 << 16):
                        self.received += len(chunk)
                except OSError:
                    pass

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.sock.close()

    def __enter__(self) -> "TcpServer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def tcp_fetch(lab: str, node: str, address: str, port: int) -> bytes:
    with nodeexec.inside(lab, node):
        conn = socket.create_connection((str(address), port), timeout=5)
    with conn:
        return conn.recv(100)


def tcp_stream_rate(lab: str, node: str, address: str, port: int, seconds: float = 2.0) -> float:
    """Bits per second a single TCP flow achieves from node to address:port."""
    with nodeexec.inside(lab, node):
        conn = socket.create_connection((str(address), port), timeout=5)
    buf = b"x" * 65536
    sent = 0
    with conn:
        conn.recv(100)
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            sent += conn.send(buf)
        elapsed = time.perf_counter() - start
    return sent * 8 / elapsed
