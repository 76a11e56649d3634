"""§9.2–9.5: which of the book's tuning advice changes something measurable on this
kernel, each as a before/after — socket buffers, TCP Fast Open, tcp_tw_reuse, the
accept backlog, long connections (busy polling has a lab of its own)."""

from __future__ import annotations

import errno
import multiprocessing
import os
import resource
import select
import socket
import statistics
import time

from netlab.backend import procfs

CHUNK = 128 * 1024  # bytes per send()/recv() of the stream, iperf3's default
TCP_FASTOPEN = 23
ETH_P_IP, ETH_P_ALL = 0x0800, 0x0003  # a packet socket sees outgoing packets only with ETH_P_ALL
RR_SIZE = 64
SHARED = multiprocessing.get_context("fork")  # the servers are forked: a Value made here reaches them
SERVER_BOUND = 120  # seconds a server accepts at most; the lab stops it once its client is done


def listen(lab, backlog: int = 128, rcvbuf: int = 0, fastopen: bool = False) -> tuple[socket.socket, tuple]:
    """A listener of the server's on a port the kernel picks; it and its address."""
    with lab.inside("server"):
        sock = socket.socket()
        if rcvbuf:  # set on the listener, so the accepted socket's window starts small
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.bind((lab.addr("server"), 0))
        sock.listen(backlog)
        if fastopen:
            sock.setsockopt(socket.IPPROTO_TCP, TCP_FASTOPEN, 16)
    return sock, sock.getsockname()


def cpu() -> tuple[float, float]:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime, ru.ru_stime


# --- §9.2, §9.3: socket buffers on a stream ------------------------------------------
def sink(listener: socket.socket) -> dict:
    """Receive until EOF: bytes, and seconds from the first byte to the last (measured
    here, so what still sat in the sender's buffer when it stopped is not counted as moved)."""
    conn, _ = listener.accept()
    buf = bytearray(CHUNK)
    got = conn.recv_into(buf)
    t0 = t1 = time.perf_counter()
    while n := conn.recv_into(buf):
        got, t1 = got + n, time.perf_counter()
    return {"bytes": got, "seconds": max(t1 - t0, 1e-9)}


def pour(addr: tuple[str, int], seconds: float, sndbuf: int | None) -> dict:
    """Send for ``seconds``; the sender's user and system CPU meanwhile."""
    sock = socket.socket()
    if sndbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.connect(addr)
    data, sent = b"s" * CHUNK, 0
    (u0, s0), t0 = cpu(), time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        sock.sendall(data)
        sent += CHUNK
    (u1, s1) = cpu()
    sock.close()
    return {"bytes": sent, "user": u1 - u0, "system": s1 - s0}


def stream(lab, seconds: float, buffer: int) -> dict:
    listener, addr = listen(lab, 1, buffer)
    receiver = lab.spawn("server", sink, listener)
    listener.close()
    sent = lab.call("client", pour, addr, seconds, buffer, timeout=seconds + 30)
    got = receiver.result(30)
    return {"gbit": got["bytes"] * 8 / got["seconds"] / 1e9,
            "user_share": sent["user"] / max(sent["user"] + sent["system"], 1e-9)}


def buffers(lab, p: dict) -> None:
    seconds, small, large = float(p["stream_seconds"]), int(p["small_buffer"]), int(p["large_buffer"])
    defaults = {node: (lab.sysctl_get(node, "net.ipv4.tcp_rmem"), lab.sysctl_get(node, "net.ipv4.tcp_wmem"))
                for node in ("client", "server")}
    runs: dict[str, list] = {"small": [], "default": [], "large": []}
    for i in range(int(p["rounds"])):  # interleaved, so a change in the machine's load hits all three
        lab.step(f"round {i + 1}: stream with {small}-byte SO_SNDBUF/SO_RCVBUF, autotuned, autotuned up to {large}")
        for name in runs:
            for node, (rmem, wmem) in defaults.items():
                lab.sysctl(node, "net.ipv4.tcp_rmem", (4096, 131072, large) if name == "large" else rmem)
                lab.sysctl(node, "net.ipv4.tcp_wmem", (4096, 16384, large) if name == "large" else wmem)
            runs[name].append(stream(lab, seconds, small if name == "small" else 0))
    gbit = {name: statistics.median(r["gbit"] for r in rs) for name, rs in runs.items()}
    for name, rs in runs.items():
        lab.figure(f"stream_{name}_gbit", round(gbit[name], 2), "Gbit/s", f"median of {len(rs)} × {seconds:g} s "
                   f"({min(r['gbit'] for r in rs):.2f}–{max(r['gbit'] for r in rs):.2f})")
    lab.figure("small_buffer_cost", round(gbit["default"] / gbit["small"], 2), "×",
               f"throughput autotuned / with {small}-byte buffers (the kernel doubles what SO_*BUF asks)")
    lab.figure("large_buffer_gain", round(gbit["large"] / gbit["default"], 2), "×",
               f"throughput with buffers up to {large} / autotuned (tcp_rmem {defaults['server'][0]}, "
               f"tcp_wmem {defaults['client'][1]})")
    lab.figure("stream_sender_user_share", round(statistics.median(r["user_share"] for r in runs["default"]), 2), "",
               "share of the Python sender's CPU in user space: the kernel's copying dominates")
    lab.bars("stream", "Stream throughput by socket buffer", "Gbit/s",
             {f"{small} B fixed": round(gbit["small"], 2), "autotuned": round(gbit["default"], 2),
              f"autotuned up to {large >> 20} MiB": round(gbit["large"], 2)})


# --- §9.5: TCP Fast Open, counted in packets -------------------------------------------
def answer(listener: socket.socket, count: int) -> int:
    """Answer ``count`` connections: read the request, send the response, close."""
    for _ in range(count):
        conn, _ = listener.accept()
        conn.recv(RR_SIZE)
        conn.sendall(b"r" * RR_SIZE)
        conn.close()
    return count


def segments(capture: socket.socket, port: int) -> list[tuple[str, int]]:
    """(direction seen from the server, payload bytes) of every captured TCP segment of ``port``."""
    out = []
    while True:
        try:
            data, meta = capture.recvfrom(65535)
        except BlockingIOError:
            return out
        ihl = (data[0] & 0x0F) * 4
        if meta[1] != ETH_P_IP or data[9] != socket.IPPROTO_TCP or port not in (int.from_bytes(data[ihl:ihl + 2], "big"),
                                                         int.from_bytes(data[ihl + 2:ihl + 4], "big")):
            continue
        payload = int.from_bytes(data[2:4], "big") - ihl - (data[ihl + 12] >> 4) * 4
        out.append(("out" if meta[2] == socket.PACKET_OUTGOING else "in", payload))


def exchange(lab, addr: tuple[str, int], fastopen: bool) -> None:
    sock = lab.socket("client")  # blocking: sendto() connects, as connect() would
    if fastopen:
        sock.sendto(b"q" * RR_SIZE, socket.MSG_FASTOPEN, addr)  # connect() and send() in one: data in the SYN
    else:
        sock.connect(addr)
        sock.sendall(b"q" * RR_SIZE)
    sock.settimeout(5)
    sock.recv(RR_SIZE)
    sock.close()


def handshake(lab, capture: socket.socket, fastopen: bool, connections: int) -> dict:
    """The last of ``connections`` exchanges: how many packets the server sent before the
    request arrived (the round trips spent first), and how many packets there were."""
    listener, addr = listen(lab, fastopen=fastopen)
    server = lab.spawn("server", answer, listener, connections)
    listener.close()
    for _ in range(connections - 1):  # the first fast-open connection only fetches the cookie
        exchange(lab, addr, fastopen)
    segments(capture, addr[1])
    exchange(lab, addr, fastopen)
    server.result(10)
    seen = segments(capture, addr[1])
    first_data = next((i for i, (way, n) in enumerate(seen) if way == "in" and n > 0), None)
    if first_data is None:
        raise RuntimeError(f"the capture on the server's eth0 saw no request among {len(seen)} packets")
    return {"before": sum(way == "out" for way, _ in seen[:first_data]), "packets": len(seen)}


def fast_open(lab, p: dict) -> None:
    from netlab.backend import features

    lab.step("one request per connection without TCP Fast Open, then with it (tcp_fastopen = 3)")
    with lab.inside("server"):
        capture = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        capture.bind(("eth0", ETH_P_ALL))
        capture.setblocking(False)
    try:
        plain = handshake(lab, capture, False, 1)
        lab.sysctl("server", "net.ipv4.tcp_fastopen", 3)
        lab.sysctl("client", "net.ipv4.tcp_fastopen", 1)
        with lab.counting("server") as moved:
            fast = handshake(lab, capture, True, 2)
    finally:
        capture.close()
    netem = "netem is missing here, so the round trip is counted in packets, not timed" \
        if features.missing(["qdisc:netem"]) else "counted in packets (exact, whatever the delay)"
    lab.figure("tfo_off_round_trips", plain["before"], "round trips",
               f"server packets before the request arrived, no TFO ({netem})")
    lab.figure("tfo_on_round_trips", fast["before"], "round trips", "the same with TFO and a cookie")
    lab.figure("tfo_round_trips_saved", plain["before"] - fast["before"], "round trips", netem)
    lab.figure("tfo_passive", moved.get("TcpExtTCPFastOpenPassive", 0), "", "TcpExtTCPFastOpenPassive delta (data in SYN "
               "accepted), server")


# --- §9.5: tcp_tw_reuse and short connections ---------------------------------------
def accepted(listener: socket.socket, seconds: float):
    """Each connection accepted within ``seconds`` from now."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        listener.settimeout(left)
        try:
            conn, _ = listener.accept()
        except TimeoutError:
            return
        yield conn


def acceptor(listener: socket.socket, seconds: float) -> int:
    served = 0
    for conn in accepted(listener, seconds):
        conn.settimeout(5)
        conn.recv(1)  # the client's FIN: the client closes first and keeps the TIME_WAIT
        conn.close()
        served += 1
    return served


def churn(addr: tuple[str, int], seconds: float) -> dict:
    """Short connections for ``seconds``; how many were made, failed, and when (every 10th)."""
    made = failed = 0
    t0, series = time.perf_counter(), [(0.0, 0)]
    while time.perf_counter() - t0 < seconds:
        sock = socket.socket()
        try:
            sock.connect(addr)
            made += 1
            if made % 10 == 0:
                series.append((round(time.perf_counter() - t0, 3), made))
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            failed += 1
            time.sleep(0.001)
        finally:
            sock.close()
    return {"made": made, "failed": failed, "series": series + [(round(seconds, 3), made)]}


def short_connections(lab, seconds: float) -> dict:
    listener, addr = listen(lab, 1024)  # a new port each time: no TIME_WAIT left towards it
    server = lab.spawn("server", acceptor, listener, SERVER_BOUND)
    listener.close()
    out = lab.call("client", churn, addr, seconds, timeout=seconds + 30)
    server.stop()  # only once the client is done: a loaded machine may start the client late
    return out


def tw_reuse(lab, p: dict) -> None:
    ports, seconds, low = int(p["local_ports"]), float(p["churn_seconds"]), 40000
    default = lab.sysctl_get("client", "net.ipv4.tcp_tw_reuse")
    wide = lab.sysctl("client", "net.ipv4.ip_local_port_range", (low, low + ports - 1))
    runs = {}
    for value in (0, 1):
        lab.step(f"short connections for {seconds:g} s from {ports} local ports, tcp_tw_reuse = {value}")
        lab.sysctl("client", "net.ipv4.tcp_tw_reuse", value)
        runs[value] = short_connections(lab, seconds)
    lab.sysctl("client", "net.ipv4.ip_local_port_range", wide.split())
    lab.sysctl("client", "net.ipv4.tcp_tw_reuse", default)
    for value, r in runs.items():
        lab.figure(f"tw_reuse_{value}_per_s", round(r["made"] / seconds), "connections/s",
                   f"tcp_tw_reuse = {value}: {r['made']} made, {r['failed']} connect()s failed with EADDRNOTAVAIL")
    lab.figure("tw_reuse_gain", round(runs[1]["made"] / max(runs[0]["made"], 1), 2), "×",
               f"connections made, tcp_tw_reuse = 1 / 0 ({ports} ports, {seconds:g} s; the default here is {default}: "
               "loopback only)")
    lab.figure("tw_no_reuse_made", runs[0]["made"], "connections", "before the port range ran out")
    lab.figure("local_ports", ports, "ports", "ip_local_port_range size")
    lab.chart("tw-reuse", f"Short connections from {ports} local ports", "s", "connections made",
              {f"tcp_tw_reuse = {value}": r["series"] for value, r in runs.items()})


# --- §9.5: the accept backlog under a burst -----------------------------------------
def burst(addr: tuple[str, int], count: int, wait: float) -> list[float]:
    """``count`` non-blocking connect()s at once; each one's seconds to connect (inf: never)."""
    socks, done = [], {}
    poller, t0 = select.poll(), time.perf_counter()
    for _ in range(count):
        sock = socket.socket()
        sock.setblocking(False)
        sock.connect_ex(addr)
        poller.register(sock.fileno(), select.POLLOUT)
        socks.append(sock)
    by_fd = {s.fileno(): s for s in socks}
    while len(done) < count and (left := wait - (time.perf_counter() - t0)) > 0:
        for fd, _ in poller.poll(left * 1000):
            poller.unregister(fd)
            ok = by_fd[fd].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0
            done[fd] = time.perf_counter() - t0 if ok else float("inf")
    took = [done.get(s.fileno(), float("inf")) for s in socks]
    for s in socks:
        s.close()
    return took


def drain(listener: socket.socket, busy: float, seconds: float) -> int:
    """A server busy for ``busy`` seconds, then accepting everything for the rest."""
    time.sleep(busy)
    return acceptor(listener, seconds - busy)


def backlog(lab, p: dict) -> None:
    count, wait = int(p["burst"]), float(p["burst_wait"])
    runs = {}
    for size in (int(p["small_backlog"]), int(p["large_backlog"])):
        lab.step(f"a burst of {count} connect()s to a listener with backlog {size}, busy for 0.2 s")
        listener, addr = listen(lab, size)
        server = lab.spawn("server", drain, listener, 0.2, SERVER_BOUND)
        listener.close()
        with lab.counting("server") as moved, lab.counting("client") as sent:
            took = lab.call("client", burst, addr, count, wait, timeout=wait + 30)
        server.stop()
        late = [min(t, wait) for t in took if t >= 0.5]  # never connected: counted as the whole wait
        runs[size] = {"took": sorted(min(t, wait) for t in took), "fast": 1 - len(late) / count,
                      "overflows": moved.get("TcpExtListenOverflows", 0), "retried": sent.get("TcpExtTCPSynRetrans", 0),
                      "first_late": min(late, default=wait), "never": sum(t == float("inf") for t in took)}
    (small, s), (large, g) = runs.items()
    for name, size, r in (("small", small, s), ("large", large, g)):
        lab.figure(f"backlog_{name}_fast", round(r["fast"], 2), "", f"share of the burst connected within 0.5 s, "
                   f"backlog {size} ({r['never']} not within {wait:g} s)")
        lab.figure(f"backlog_{name}_overflows", r["overflows"], "", f"TcpExtListenOverflows, backlog {size}")
        lab.figure(f"backlog_{name}_syn_retrans", r["retried"], "SYNs", f"TcpExtTCPSynRetrans in the client, backlog {size}")
    lab.figure("backlog_small_retry_s", round(s["first_late"], 2), "s", "the fastest connect() that missed the "
               f"first 0.5 s: its SYN was dropped and sent again (cut at {wait:g} s)")
    lab.figure("burst", count, "connections", "connect()s at once")
    lab.chart("burst", f"connect() times of a burst of {count} (cut at {wait:g} s)", "connect()s, fastest first",
              "s", {f"backlog {size}": [(i + 1, round(t, 4)) for i, t in enumerate(r["took"])] for size, r in runs.items()})


# --- §9.5: long connections instead of short ones ------------------------------------
def echo(listener: socket.socket, seconds: float, spent=None, cpu: int | None = None) -> int:
    """Answer each request; with ``spent`` (a shared integer), keep there the CPU ns the
    serving has cost since the first connection arrived — not the fork's start-up, whose
    copy-on-write faults on this VM can outweigh the whole measured window."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    served, start = 0, None
    for conn in accepted(listener, seconds):
        start = start or time.process_time_ns()
        while conn.recv(RR_SIZE):
            conn.sendall(b"r" * RR_SIZE)
            served += 1
            if spent is not None:
                spent.value = time.process_time_ns() - start
        conn.close()
    return served


def requests(addr: tuple[str, int], seconds: float, reconnect: bool, cpu: int | None = None) -> tuple[int, int]:
    """(requests done, this process's CPU ns meanwhile)."""
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})
    done, sock, t0, cpu0 = 0, None, time.perf_counter(), time.process_time_ns()
    while time.perf_counter() - t0 < seconds:
        if sock is None:
            sock = socket.create_connection(addr)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.sendall(b"q" * RR_SIZE)
        sock.recv(RR_SIZE)
        done += 1
        if reconnect:
            sock.close()
            sock = None
    return done, time.process_time_ns() - cpu0


def long_connections(lab, p: dict) -> None:
    """Short and long in turn, ``rounds`` times (``rr_seconds`` split between them), each
    judged by the CPU a request costs — client and server (their own clocks) and ksoftirqd —
    and by requests/s. Requests/s alone is mostly wake-ups on this 2-CPU VM: each request
    wakes the other end on the other CPU, new connection or not, and when the machine is
    loaded the wait for a CPU hides the handshake (the ratio read 1.03 then, 1.8–2 quiet).
    Both ends share one CPU: on two, every request wakes the other CPU (an IPI, and on this
    nested VM a costly exit), which charged 30–40 µs of CPU to each end of a request on one
    connection — as much as a handshake — in about half the runs."""
    rounds, cpu_id = int(p["rounds"]), min(os.sched_getaffinity(0))
    seconds, rates = float(p["rr_seconds"]) / rounds, {True: [], False: []}
    parts: dict[bool, list[tuple[float, float, float]]] = {True: [], False: []}  # client, server, ksoftirqd µs
    lab.step(f"a new connection per request, then one connection, {seconds:g} s each, {rounds} rounds, "
             f"client and server on CPU{cpu_id}")
    for _ in range(rounds):
        for reconnect in (True, False):
            listener, addr = listen(lab, 1024)
            spent = SHARED.Value("q", 0, lock=False)
            server = lab.spawn("server", echo, listener, SERVER_BOUND, spent, cpu_id)
            listener.close()
            softirq_ns = procfs.ksoftirqd_ns()
            done, client_ns = lab.call("client", requests, addr, seconds, reconnect, cpu_id, timeout=seconds + 30)
            softirq_ns = procfs.ksoftirqd_ns() - softirq_ns
            server_ns = spent.value
            server.stop()
            rates[reconnect].append(done / seconds)
            parts[reconnect].append(tuple(ns / 1e3 / max(done, 1) for ns in (client_ns, server_ns, softirq_ns)))
    cpu = {reconnect: [sum(each) for each in rounds_] for reconnect, rounds_ in parts.items()}
    rate_each = [long / short for short, long in zip(rates[True], rates[False])]
    cpu_each = [short / long for short, long in zip(cpu[True], cpu[False])]
    for name, values, unit, what in (
            ("short_conn_per_s", rates[True], "requests/s", "a new connection per request (Python)"),
            ("long_conn_per_s", rates[False], "requests/s", "one connection (Python)"),
            ("short_conn_cpu_us", cpu[True], "µs", "CPU per request, a new connection each (client + server + ksoftirqd)"),
            ("long_conn_cpu_us", cpu[False], "µs", "CPU per request on one connection (client + server + ksoftirqd)")):
        lab.figure(name, round(statistics.median(values), 1), unit, f"{what}, median of {rounds} rounds "
                   f"({min(values):.3g}–{max(values):.3g})")
    for reconnect, label in ((True, "short"), (False, "long")):
        for i, who in enumerate(("client", "server", "ksoftirqd")):
            lab.figure(f"{label}_conn_{who}_cpu_us", round(statistics.median(x[i] for x in parts[reconnect]), 1), "µs",
                       f"{who}'s CPU per request, median of {rounds} rounds")
    lab.figure("long_vs_short", round(statistics.median(rate_each), 2), "×",
               f"requests/s, one connection / one per request, round by round ({min(rate_each):.2f}–{max(rate_each):.2f})")
    lab.figure("short_vs_long_cpu", round(statistics.median(cpu_each), 2), "×",
               f"CPU per request, one connection per request / one connection, round by round "
               f"({min(cpu_each):.2f}–{max(cpu_each):.2f})")


def run(lab) -> None:
    p = lab.params
    buffers(lab, p)
    fast_open(lab, p)
    tw_reuse(lab, p)
    backlog(lab, p)
    long_connections(lab, p)
