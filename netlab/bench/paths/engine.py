"""The built-in engine: a server and a client, each its own process, each inside
its node's namespace and pinned to its own core.

    python -m netlab.bench.paths.engine server --mode rr --bind 198.18.1.2 [--netns NS] [--cpu 1]
    python -m netlab.bench.paths.engine client --mode rr --connect 198.18.1.2 --port P --server-pid N ...

Each prints JSON lines on stdout: the server ``{"ready": port}`` once listening,
then both their counts at the end. Modes (TCP, TCP_NODELAY for rr and crr):

- rr: one connection, fixed-size request, same-size echo; the client times
  every transaction (perf_counter_ns into a preallocated array);
- crr: connect, 1-byte request, 1-byte answer, close with SO_LINGER 0 (an RST,
  so no TIME_WAIT piles up); a last connection sending ``Q`` stops the server;
- stream: the client writes ``--size`` bytes per send() until the time is
  up; the server reads until EOF.

``--spin`` (rr and crr): both ends wait by spinning on non-blocking receives
(and the server on a non-blocking accept) instead of sleeping in the kernel,
so no wake-up sits in the round trip — for a VM whose idle CPUs halt and
cannot be held polling. rr's spin loop runs in C (cloop, ``--spin-lib``) where
it could be built: Python's own turn of the loop would sit in every round trip.
Stream always blocks: it waits for buffer space, not for the other end, and
iperf3, its reference, cannot spin.

The client runs a warm-up first (discarded), then brackets the measured window
with /proc snapshots (Window), then, with ``--tracepoint``, counts tracepoint
events over a short window of their own (count_events).
"""

from __future__ import annotations

import argparse
import array
import gc
import json
import os
import socket
import struct
import sys
import time
from collections.abc import Callable

from netlab.backend import netns
from netlab.bench.paths import cloop, counters, stats, tracepoints

LINGER_RST = struct.pack("ii", 1, 0)
IP_MTU = 14  # linux/in.h
STOP, REQUEST = b"Q", b"R"


def emit(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def _recv_rest(recv_into, view: memoryview, got: int, size: int) -> None:
    """Finish reading one message of ``size`` bytes that arrived in pieces."""
    while got < size:
        n = recv_into(view[got:])
        if n == 0:
            raise EOFError(f"connection closed after {got} of {size} bytes")
        got += n


def spinning(accept: Callable[[], tuple]) -> Callable[[], tuple]:
    """``accept`` of a non-blocking listener, retried until a connection is there."""
    def spin() -> tuple:
        while True:
            try:
                return accept()
            except BlockingIOError:
                continue
    return spin


def receiver(sock: socket.socket, spin: bool) -> Callable[[memoryview | bytearray], int]:
    """recv_into of ``sock``: blocking, or (``spin``) a busy wait on the non-blocking socket."""
    if not spin:
        return sock.recv_into
    sock.setblocking(False)
    recv_into = sock.recv_into

    def spin_recv(buf) -> int:
        while True:
            try:
                return recv_into(buf)
            except BlockingIOError:
                continue
    return spin_recv


# -- server ----------------------------------------------------------------------
def serve_rr(lst: socket.socket, size: int, spin: bool = False, loop: cloop.Loop | None = None) -> dict:
    conn, _ = lst.accept()
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if loop is not None:  # --spin with the C loop
        count = loop.server(conn)
        conn.close()
        return {"transactions": count, "bytes": count * size}
    buf = bytearray(size)
    view = memoryview(buf)
    recv_into, sendall = receiver(conn, spin), conn.sendall
    count = 0
    while True:
        got = recv_into(buf)
        if got != size:
            if got == 0:
                break
            _recv_rest(recv_into, view, got, size)
        sendall(buf)
        count += 1
    conn.close()
    return {"transactions": count, "bytes": count * size}


def serve_crr(lst: socket.socket, size: int, spin: bool = False) -> dict:
    buf = bytearray(1)
    count = 0
    if spin:
        lst.setblocking(False)
    accept = spinning(lst.accept) if spin else lst.accept
    while True:
        conn, _ = accept()
        try:
            if receiver(conn, spin)(buf) != 1 or buf == STOP:
                break
            conn.sendall(buf)
            count += 1
        except ConnectionResetError:
            pass
        finally:
            conn.close()
    return {"transactions": count, "bytes": count}


def serve_stream(lst: socket.socket, size: int, spin: bool = False) -> dict:
    conn, _ = lst.accept()
    buf = bytearray(size)
    recv_into = conn.recv_into
    total = 0
    while True:
        got = recv_into(buf)
        if not got:
            break
        total += got
    rcvbuf = conn_opt(conn, socket.SO_RCVBUF)
    conn.close()
    return {"bytes": total, "rcvbuf": rcvbuf}


def conn_opt(sock: socket.socket, opt: int) -> int | None:
    try:
        return sock.getsockopt(socket.SOL_SOCKET, opt)
    except OSError:
        return None


# -- client ----------------------------------------------------------------------
def _engine_pids(server_pid: int | None) -> list[int]:
    """This client and, when known, its server: the processes whose costs are counted."""
    return [os.getpid()] + ([server_pid] if server_pid else [])


class Window:
    """The measured window: /proc snapshots of both engine processes around it."""

    def __init__(self, server_pid: int | None):
        self.pids = _engine_pids(server_pid)
        self.before = self.t0 = None
        self.result: dict = {}

    def __enter__(self) -> "Window":
        self.before = counters.snapshot(self.pids)
        self.t0 = time.perf_counter_ns()
        return self

    def __exit__(self, *exc) -> None:
        window_ns = time.perf_counter_ns() - self.t0
        self.result = {"window_ns": window_ns, "counters": counters.delta(self.before, counters.snapshot(self.pids))}


EVENTS = {"netif_rx": ("net:netif_rx", None),
          "net_rx_softirqs": ("irq:softirq_entry", f"vec == {tracepoints.NET_RX_SOFTIRQ}")}


def count_events(args, work: Callable[[int], int]) -> dict:
    """net:netif_rx and NET_RX softirqs of both engine processes, per unit of ``work``.

    Counted in a window of their own after the measured one: a per-process perf
    counter taxes every context switch of the process it watches (rr ran 15 %
    slower with them on), so the timed window runs without any."""
    if not args.tracepoint:
        return {"events": {}, "event_units": 0, "events_note": dict.fromkeys(EVENTS, "not asked for")}
    pids = _engine_pids(args.server_pid)
    opened = {k: tracepoints.Counter.open(event, pids, flt) for k, (event, flt) in EVENTS.items()}
    live = {k: c for k, c in opened.items() if isinstance(c, tracepoints.Counter)}
    try:
        for c in live.values():
            c.start()
        units = work(time.perf_counter_ns() + int(args.event_seconds * 1e9))
        events = {k: c.stop() for k, c in live.items()}
    finally:
        for c in live.values():
            c.close()
    return {"events": events, "event_units": units,
            "events_note": {k: c for k, c in opened.items() if isinstance(c, str)}}


def _connect(args) -> socket.socket:
    sock = socket.create_connection((args.connect, args.port), timeout=10)
    sock.settimeout(None)
    return sock


def client_rr(args) -> dict:
    sock = _connect(args)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    size = args.size
    msg, buf = bytes(i % 256 for i in range(size)), bytearray(size)
    view = memoryview(buf)
    sendall, clock = sock.sendall, time.perf_counter_ns
    loop = cloop.Loop(args.spin_lib, size) if args.spin and args.spin_lib else None
    recv_into = None if loop else receiver(sock, args.spin)

    def timed(lat: array.array, n: int, deadline: int) -> int:
        if loop:
            return n + loop.client(sock, msg, deadline, lat, n)
        return _rr_timed(sendall, recv_into, view, msg, buf, size, lat, n, deadline, clock)

    def untimed(deadline: int) -> int:
        if loop:
            return loop.client(sock, msg, deadline)
        n = 0
        while True:
            sendall(msg)
            got = recv_into(buf)
            if got != size:
                _recv_rest(recv_into, view, got, size)
            n += 1
            if clock() >= deadline:
                return n

    warm = untimed(clock() + int(args.warmup * 1e9))
    rate = warm / max(args.warmup, 1e-3)
    lat = array.array("q", bytes(8 * max(4096, int(rate * args.seconds * 1.5))))
    n = 0
    with Window(args.server_pid) as window:
        deadline = clock() + int(args.seconds * 1e9)
        n = timed(lat, n, deadline)
        while clock() < deadline:  # the array filled up before the time did
            lat.extend(array.array("q", bytes(8 * len(lat))))
            n = timed(lat, n, deadline)
    events = count_events(args, untimed)
    mtu = sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
    sock.close()
    total = n + warm + events["event_units"]
    return {"transactions": n, "all_transactions": total, "bytes": total * size, "size": size,
            "mtu": mtu, "latency_us": stats.latency_summary(lat[:n]), **window.result, **events}


def _rr_timed(sendall, recv_into, view, msg, buf, size, lat, i, deadline, clock) -> int:
    """Transactions until ``deadline`` or the array is full; each one's ns in ``lat``."""
    end = len(lat)
    t0 = clock()
    while i < end:
        sendall(msg)
        got = recv_into(buf)
        if got != size:
            _recv_rest(recv_into, view, got, size)
        t1 = clock()
        lat[i] = t1 - t0
        i += 1
        if t1 >= deadline:
            return i
        t0 = t1
    return i


def client_crr(args) -> dict:
    addr = (args.connect, args.port)
    buf = bytearray(1)
    clock = time.perf_counter_ns
    spin = args.spin

    def burst(deadline: int) -> int:
        n = 0
        AF, ST, SOL, LINGER, TCP, NODELAY = (socket.AF_INET, socket.SOCK_STREAM, socket.SOL_SOCKET,
                                             socket.SO_LINGER, socket.IPPROTO_TCP, socket.TCP_NODELAY)
        while True:
            s = socket.socket(AF, ST)
            s.setsockopt(SOL, LINGER, LINGER_RST)
            s.setsockopt(TCP, NODELAY, 1)
            s.connect(addr)  # over loopback and veth the handshake completes inside connect()
            s.sendall(REQUEST)
            if receiver(s, spin)(buf) != 1:
                raise EOFError("server closed without answering")
            s.close()
            n += 1
            if clock() >= deadline:
                return n

    warm = burst(clock() + int(args.warmup * 1e9))
    with Window(args.server_pid) as window:
        n = burst(clock() + int(args.seconds * 1e9))
    events = count_events(args, burst)
    with socket.create_connection(addr, timeout=10) as s:
        s.sendall(STOP)
    total = n + warm + events["event_units"]
    return {"transactions": n, "all_transactions": total, "bytes": total, "linger": "SO_LINGER 0 (RST on close)",
            **window.result, **events}


def client_stream(args) -> dict:
    sock = _connect(args)
    view = memoryview(bytearray(args.size))
    send, clock = sock.send, time.perf_counter_ns

    def pour(deadline: int) -> int:
        sent = 0
        while True:
            sent += send(view)
            if clock() >= deadline:
                return sent

    warm = pour(clock() + int(args.warmup * 1e9)) if args.warmup > 0 else 0
    with Window(args.server_pid) as window:
        sent = pour(clock() + int(args.seconds * 1e9))
    events = count_events(args, pour)
    mtu = sock.getsockopt(socket.IPPROTO_IP, IP_MTU)
    sndbuf = conn_opt(sock, socket.SO_SNDBUF)
    sock.shutdown(socket.SHUT_WR)
    sock.recv(1)  # the server's close: every byte is counted on its side before we report
    sock.close()
    return {"bytes": sent + warm + events["event_units"], "measured_bytes": sent, "warmup_bytes": warm,
            "buffer": args.size, "mtu": mtu, "sndbuf": sndbuf, **window.result, **events}


SERVE = {"rr": serve_rr, "crr": serve_crr, "stream": serve_stream}
CLIENT = {"rr": client_rr, "crr": client_crr, "stream": client_stream}


def enter(ns: str | None, cpu: int | None) -> None:
    """Move this process into the node's namespace and onto its core, for good."""
    if ns:
        netns.setns_path(ns)
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def parse(argv: list[str]) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="netlab.bench.paths.engine")
    ap.add_argument("role", choices=("server", "client"))
    ap.add_argument("--mode", choices=tuple(SERVE), required=True)
    ap.add_argument("--netns")
    ap.add_argument("--cpu", type=int)
    ap.add_argument("--bind", default="0.0.0.0")
    ap.add_argument("--connect")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=0.3)
    ap.add_argument("--server-pid", type=int)
    ap.add_argument("--tracepoint", action="store_true")
    ap.add_argument("--event-seconds", type=float, default=0.25)
    ap.add_argument("--spin", action="store_true", help="rr, crr: busy-wait on non-blocking receives")
    ap.add_argument("--spin-lib", help="rr with --spin: the C loop's shared library (cloop.build())")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        result = run(args)
    except (OSError, EOFError) as exc:
        sys.stderr.write(f"{args.role} ({args.mode}, {args.bind if args.role == 'server' else args.connect}): "
                         f"{exc}\n")
        return 1
    emit({"role": args.role, "mode": args.mode, **result})
    return 0


def run(args: argparse.Namespace) -> dict:
    enter(args.netns, args.cpu)
    gc.disable()
    if args.role == "server":
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((args.bind, args.port))
        lst.listen(512)
        emit({"ready": lst.getsockname()[1], "pid": os.getpid()})
        spin = args.spin and args.mode != "stream"
        if spin and args.mode == "rr" and args.spin_lib:
            result = serve_rr(lst, args.size, spin, cloop.Loop(args.spin_lib, args.size))
        else:
            result = SERVE[args.mode](lst, args.size, spin)
        lst.close()
        return result
    return CLIENT[args.mode](args)


if __name__ == "__main__":
    sys.exit(main())
