"""§6.5.1 and §8.4: the local port range as the client's limit, and ways past it."""

from __future__ import annotations

import errno
import resource
import socket
import statistics
import time

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)


def connect_all(lab, dest: tuple[str, int], source: str | None, no_port: bool, limit: int,
                socks: list) -> tuple[list[float], int]:
    """Connect to ``dest`` until an error or ``limit`` connections: (µs per connect(), errno)."""
    took: list[float] = []
    while len(took) < limit:
        s = lab.socket("client")
        socks.append(s)
        try:
            if source:
                if no_port:
                    s.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                s.bind((source, 0))
            t0 = time.perf_counter_ns()
            s.connect(dest)
        except OSError as exc:
            return took, exc.errno
        took.append((time.perf_counter_ns() - t0) / 1000)
    return took, 0


def deciles(values: list[float]) -> list[tuple[float, float]]:
    """(percent of the range used, median µs) for each tenth of the calls."""
    step = max(len(values) // 10, 1)
    return [(10 * (i + 1), statistics.median(values[i * step:(i + 1) * step])) for i in range(len(values) // step)]


def run(lab) -> None:
    p = lab.params
    ports, port = int(p["ports"]), int(p["port"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 4 * ports + 100:
        lab.skip(f"needs {4 * ports + 100} file descriptors; the hard RLIMIT_NOFILE is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    lab.sysctl("client", "net.ipv4.ip_local_port_range", (40000, 40000 + ports - 1))
    lab.sysctl("server", "net.core.somaxconn", 65535)
    server = lab.addr("server")
    with lab.inside("server"):
        listeners = [socket.create_server((server, port + i), backlog=65535) for i in range(2)]
    socks: list[socket.socket] = []
    try:
        measure(lab, ports, [(server, port), (server, port + 1)], socks)
    finally:
        for s in socks + listeners:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def measure(lab, ports: int, dests: list[tuple[str, int]], socks: list) -> None:
    first, second = (str(a.ip) for a in lab.topo.interfaces("client")[0].addresses[:2])
    lab.step(f"{ports} ports: connect() from {first} until it fails")
    took, code = connect_all(lab, dests[0], None, False, ports + 10, socks)
    lab.figure("conns_one_ip", len(took), "connections")
    lab.figure("errno_full", code, "", errno.errorcode.get(code, "none"))
    curve = deciles(took)
    lab.figure("connect_us_first_tenth", round(curve[0][1], 1), "µs", "median connect() time, first 10% of ports")
    lab.figure("connect_us_last_tenth", round(curve[-1][1], 1), "µs", "median connect() time, last 10% of ports")
    lab.figure("cost_ratio", round(curve[-1][1] / curve[0][1], 2), "×", "last tenth / first tenth")
    lab.chart("connect-cost", "connect() cost vs ports used", "ports in use (% of ip_local_port_range)",
              "median connect() time (µs)", {f"{ports} ports": curve})
    lab.step(f"second address {second}, IP_BIND_ADDRESS_NO_PORT")
    took, _ = connect_all(lab, dests[0], second, True, ports + 10, socks)
    lab.figure("conns_second_ip", len(took), "connections")
    lab.step(f"same address to server port {dests[1][1]}")
    took, _ = connect_all(lab, dests[1], None, False, ports + 10, socks)
    lab.figure("conns_second_dest", len(took), "connections")
    lab.step(f"bind() to {second} before connect() to server port {dests[1][1]}, without and with "
             "IP_BIND_ADDRESS_NO_PORT")
    _, code = connect_all(lab, dests[1], second, False, 1, socks)
    lab.figure("errno_bind_plain", code, "", errno.errorcode.get(code, "none"))
    took, _ = connect_all(lab, dests[1], second, True, ports + 10, socks)
    lab.figure("conns_bind_no_port", len(took), "connections", f"bound to {second}, to server port {dests[1][1]}")
