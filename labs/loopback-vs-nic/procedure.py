"""Ch. 5: 127.0.0.1 and the node's own address go through lo, not the NIC — and still cost."""

from __future__ import annotations

import socket
import statistics
import time


def round_trips(lab, server_node: str, addr: tuple[str, int], count: int) -> list[float]:
    """µs per 1-byte request/response between h1 and a listener in ``server_node``."""
    with lab.inside(server_node):
        listener = socket.create_server(addr)
    with lab.inside("h1"):
        client = socket.create_connection(addr, timeout=5)
    server, _ = listener.accept()
    listener.close()
    took = []
    try:
        for sock in (client, server):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for _ in range(count):
            t0 = time.perf_counter_ns()
            client.send(b"q")
            server.recv(1)
            server.send(b"a")
            client.recv(1)
            took.append((time.perf_counter_ns() - t0) / 1000)
    finally:
        client.close()
        server.close()
    return took


def watched(lab, name: str, server_node: str, addr: tuple[str, int], count: int) -> float:
    """Round trips with h1's interface counters and NET_RX softirqs read around them; median µs."""
    dev0, irq0 = lab.netdev("h1"), lab.softirqs()
    took = round_trips(lab, server_node, addr, count)
    dev1, irq1 = lab.netdev("h1"), lab.softirqs()
    for ifname in ("lo", "eth0"):
        moved = sum(dev1[ifname][k] - dev0[ifname][k] for k in ("rx_packets", "tx_packets"))
        lab.figure(f"{ifname}_packets_{name}", moved, "packets", f"rx + tx of {ifname} in h1")
    lab.figure(f"net_rx_{name}", irq1["NET_RX"] - irq0["NET_RX"], "softirqs", "NET_RX, all CPUs (machine-wide)")
    median = statistics.median(took)
    lab.figure(f"rtt_us_{name}", round(median, 1), "µs", "median round trip")
    return median


def run(lab) -> None:
    count, port = int(lab.params["round_trips"]), int(lab.params["port"])
    own, peer = lab.addr("h1"), lab.addr("h2")
    route = lab.run("h1", ["ip", "route", "get", own], capture=True, check=True).stdout.decode()
    lab.figure("own_ip_route_dev", int(" dev lo " in f" {route} "), "", route.split("\n")[0].strip())
    lab.figure("packets_expected", 2 * count, "packets", "one segment each way per round trip")
    lab.step(f"{count} round trips to 127.0.0.1")
    lo = watched(lab, "loopback", "h1", ("127.0.0.1", port), count)
    lab.step(f"{count} round trips to h1's own address {own}")
    watched(lab, "own_ip", "h1", (own, port), count)
    lab.step(f"{count} round trips over the veth to h2 ({peer})")
    veth = watched(lab, "veth", "h2", (peer, port), count)
    lab.figure("loopback_vs_veth", round(lo / veth, 2), "×", "median round trip, loopback / veth")
