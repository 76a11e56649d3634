"""§9.1, §9.3: a request written in two parts, then a read — Nagle's algorithm on the
client meets delayed ACKs on the server; TCP_NODELAY, TCP_CORK, TCP_QUICKACK and
one write each take the stall away."""

from __future__ import annotations

import socket
import statistics
import time

VARIANTS = {  # every variant but one_write writes the request in two parts
    "nagle": "Nagle on (the default)",
    "nodelay": "TCP_NODELAY",
    "cork": "TCP_CORK",
    "quickack": "server TCP_QUICKACK",
    "one_write": "one write",
    "route_quickack": "server route quickack 1",
}
STALL_MS = 20  # a request slower than this waited for a timer, not for the veth


def serve(listener: socket.socket, request: int, response: int, quickack: bool) -> int:
    """Answer each whole ``request``-byte request with ``response`` bytes; the number served."""
    conn, _ = listener.accept()
    served = 0
    answer = b"r" * response
    while True:
        got = 0
        while got < request:
            chunk = conn.recv(request - got)
            if not chunk:
                return served
            got += len(chunk)
            if quickack:  # quick ACK mode ends when the server answers: set it after every read
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        conn.sendall(answer)
        served += 1


def ask(sock: socket.socket, variant: str, head: bytes, body: bytes, response: int) -> float:
    """One request (``head`` then ``body``) and its whole response; milliseconds."""
    t0 = time.perf_counter()
    if variant == "one_write":
        sock.sendall(head + body)
    elif variant == "cork":
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
        sock.sendall(head)
        sock.sendall(body)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)  # uncorking sends what is held
    else:
        sock.sendall(head)
        sock.sendall(body)
    got = 0
    while got < response:
        chunk = sock.recv(response - got)
        if not chunk:
            raise ConnectionError("the server closed the connection")
        got += len(chunk)
    return (time.perf_counter() - t0) * 1e3


def measure(lab, variant: str, port: int, count: int, sizes: tuple[int, int, int]) -> dict:
    head_len, body_len, response = sizes
    addr = (lab.addr("server"), port)
    with lab.inside("server"):
        listener = socket.create_server(addr)
    server = lab.spawn("server", serve, listener, head_len + body_len, response, variant == "quickack")
    listener.close()
    client = lab.socket("client")
    try:
        client.connect(addr)
        if variant == "nodelay":
            client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with lab.counting("server") as moved:
            took = [ask(client, variant, b"h" * head_len, b"b" * body_len, response) for _ in range(count)]
    finally:
        client.close()
    served = server.result(30)
    return {"ms": took, "served": served, "delayed_acks": moved.get("TcpExtDelayedACKs", 0)}


def route_quickack(lab) -> None:
    """Every ACK the server sends on its subnet is sent at once (RTAX_QUICKACK, Linux 3.11)."""
    route = lab.run("server", ["ip", "-o", "route", "show", "dev", "eth0", "scope", "link"],
                    capture=True, check=True).stdout.decode().split()
    lab.run("server", ["ip", "route", "replace", *route, "dev", "eth0", "quickack", "1"], check=True)


def record(lab, results: dict, count: int) -> None:
    for variant, r in results.items():
        ms = sorted(r["ms"])
        stalls = sum(t > STALL_MS for t in ms)
        lab.figure(f"{variant}_ms", round(statistics.median(ms), 2), "ms",
                   f"{VARIANTS[variant]}: median of {count} requests (p90 {ms[int(0.9 * (len(ms) - 1))]:.2f} ms)")
        lab.figure(f"{variant}_stalled", stalls, "requests", f"slower than {STALL_MS} ms")
        lab.figure(f"{variant}_delayed_acks", round(r["delayed_acks"] / count, 2), "per request",
                   "server's delayed-ACK timer sent an ACK (TcpExtDelayedACKs)")
        first = next((i for i, t in enumerate(r["ms"]) if t > STALL_MS), len(ms))
        lab.figure(f"{variant}_fast_start", first, "requests", "before the first stall (quick ACK mode of a new connection)")
    lab.figure("requests", count, "requests", "per variant, one connection")
    lab.figure("nagle_vs_nodelay", round(statistics.median(results["nagle"]["ms"])
                                         / statistics.median(results["nodelay"]["ms"]), 0), "×", "median latency")
    lab.figure("stall_ms", round(statistics.median([t for t in results["nagle"]["ms"] if t > STALL_MS] or [0]), 1),
               "ms", "median of the stalled requests with Nagle on")
    fixes = [v for v in VARIANTS if v != "nagle" and v in results]
    lab.figure("worst_fix_ms", round(max(statistics.median(results[v]["ms"]) for v in fixes), 2), "ms",
               f"slowest median among {', '.join(fixes)}")
    lab.figure("fixes_stalled", sum(sum(t > STALL_MS for t in results[v]["ms"]) for v in fixes), "requests",
               f"stalls among {len(fixes)} × {count} requests without Nagle's wait")


def run(lab) -> None:
    p = lab.params
    count, port = int(p["requests"]), int(p["port"])
    sizes = (int(p["head"]), int(p["body"]), int(p["response"]))
    results = {}
    for i, variant in enumerate(VARIANTS):
        if variant == "route_quickack":
            route_quickack(lab)
        lab.step(f"{VARIANTS[variant]}: {count} requests")
        results[variant] = measure(lab, variant, port + i, count, sizes)
    record(lab, results, count)
    lab.bars("latency", "Latency of a request sent as head + body, then a read", "ms (median)",
             {VARIANTS[v]: round(statistics.median(r["ms"]), 2) for v, r in results.items()})
    lab.chart("sequence", "Each request's latency on one connection", "request", "ms",
              {VARIANTS[v]: [(i + 1, round(t, 2)) for i, t in enumerate(results[v]["ms"][:40])]
               for v in ("nagle", "nodelay")})
