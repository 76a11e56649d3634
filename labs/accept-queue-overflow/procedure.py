"""§6.6.1: an accept queue that overflows, as the client and the counters see it."""

from __future__ import annotations

import errno
import socket
import threading
import time

PORTS = {"silent": 8066, "abort": 8067}


def queue_len(lab, port: int) -> tuple[int, int]:
    """(connections waiting in the accept queue, its backlog): the listener's Recv-Q and Send-Q."""
    out = lab.run("server", ["ss", "-Hltn", f"sport = :{port}"], capture=True, check=True).stdout.split()
    return int(out[1]), int(out[2])


def connect_late(lab, addr: tuple[str, int], count: int) -> list[socket.socket]:
    """Clients whose third-handshake ACK the client's namespace held back: connected on
    the client's side, a half-open request on the server's."""
    lab.nft("client", [f"output ip daddr {addr[0]} tcp dport {addr[1]} "
                       "tcp flags & (syn | ack | fin | rst | psh) == ack drop"])
    socks = []
    for _ in range(count):
        s = lab.socket("client")
        s.connect(addr)
        socks.append(s)
    lab.nft_flush("client")
    return socks


def fill(lab, addr: tuple[str, int], count: int) -> list[socket.socket]:
    socks = []
    for _ in range(count):
        s = lab.socket("client")
        s.settimeout(5)
        s.connect(addr)
        socks.append(s)
    return socks


def answers(socks: list[socket.socket], wait: float) -> dict[str, int]:
    """Each late client sends its request and waits: {"silent": n, "reset": n}."""
    seen = {"silent": 0, "reset": 0}
    for s in socks:
        s.send(b"GET / HTTP/1.0\r\n\r\n")
    time.sleep(wait)
    for s in socks:
        s.setblocking(False)
        try:
            s.recv(1)  # the server never writes: only an error or EOF can come back
        except BlockingIOError:
            seen["silent"] += 1
        except ConnectionResetError:
            seen["reset"] += 1
    return seen


def overflow(lab, port: int, backlog: int, late: int) -> tuple[socket.socket, list, dict, dict]:
    """Fill a fresh listener's accept queue and let the late clients' ACKs overflow it."""
    addr = (lab.addr("server"), port)
    with lab.inside("server"):
        listener = socket.create_server(addr, backlog=backlog)
    with lab.counting("server") as moved:
        socks = connect_late(lab, addr, late)
        socks += fill(lab, addr, backlog + 1)
        seen = answers(socks[:late], 0.5)
    return listener, socks, seen, moved


def run(lab) -> None:
    p = lab.params
    backlog, late, retries = int(p["backlog"]), int(p["late"]), int(p["syn_retries"])
    lab.step(f"abort_on_overflow = 0: {late} late clients, accept queue of {backlog} filled")
    listener, socks, seen, moved = overflow(lab, PORTS["silent"], backlog, late)
    try:
        length, limit = queue_len(lab, PORTS["silent"])
        lab.figure("accept_queue_len", length, "connections", "listener's Recv-Q in ss -ltn")
        lab.figure("accept_queue_limit", limit + 1, "connections", f"backlog {limit} + 1")
        lab.figure("listen_overflows", moved.get("TcpExtListenOverflows", 0), "", "TcpExtListenOverflows delta")
        lab.figure("listen_drops", moved.get("TcpExtListenDrops", 0), "", "TcpExtListenDrops delta")
        lab.figure("silent_clients", seen["silent"], "clients", "request sent, no answer after 0.5 s")
        slow_and_failed(lab, listener, retries)
    finally:
        for s in socks:
            s.close()
        listener.close()
    lab.step("abort_on_overflow = 1")
    lab.sysctl("server", "net.ipv4.tcp_abort_on_overflow", 1)
    listener, socks, seen, _ = overflow(lab, PORTS["abort"], backlog, late)
    lab.figure("reset_clients", seen["reset"], "clients", "ECONNRESET on the first recv()")
    for s in socks:
        s.close()
    listener.close()


def slow_and_failed(lab, listener: socket.socket, retries: int) -> None:
    addr = listener.getsockname()
    lab.sysctl("client", "net.ipv4.tcp_syn_retries", retries)
    lab.step(f"connect() into the full queue, tcp_syn_retries = {retries}")
    took, code = lab.timed_connect("client", addr, 30)
    lab.figure("full_connect_s", round(took, 3), "s", f"connect() failed: {errno.errorcode.get(code, code)}")
    lab.figure("full_connect_predicted_s", float((2 << retries) - 1), "s", "(2^(R+1) − 1) × 1 s")
    lab.step("connect() while the server accepts after 0.5 s")
    accepter = threading.Timer(0.5, _drain, args=(listener,))
    accepter.start()
    took, code = lab.timed_connect("client", addr, 10)
    accepter.join()
    lab.figure("slow_connect_s", round(took, 3), "s", "ok" if code == 0 else errno.errorcode.get(code, code))


def _drain(listener: socket.socket) -> None:
    listener.setblocking(False)
    try:
        while True:
            listener.accept()[0].close()
    except BlockingIOError:
        pass
