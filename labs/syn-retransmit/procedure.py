"""§6.5.2: connect() time when the first SYNs are lost, against the kernel's timer schedule."""

from __future__ import annotations

import errno
import socket

INITIAL_RTO_S = 1.0  # TCP_TIMEOUT_INIT
LINEAR = "net.ipv4.tcp_syn_linear_timeouts"


def predicted_connect_s(drops: int, linear: int = 0) -> float:
    """Seconds connect() waits for ``drops`` lost SYNs: the first ``linear`` + 1 timeouts
    are the initial RTO, each later one doubles (linear = 0: the book's 1, 2, 4, ...)."""
    return sum(INITIAL_RTO_S * (1 if i <= linear else 2 ** (i - linear)) for i in range(drops))


def predicted_give_up_s(syn_retries: int) -> float:
    """tcp_model_timeout(): ETIMEDOUT after (2^(R+1) − 1) initial RTOs."""
    return INITIAL_RTO_S * ((2 << syn_retries) - 1)


def drop_first_syns(lab, port: int, drops: int) -> None:
    """A fresh numgen counter: SYNs 0 … drops−1 to the port are dropped, the next passes."""
    lab.nft_flush("server")
    if drops:
        lab.nft("server", [f"input tcp dport {port} tcp flags & (syn | ack) == syn "
                           f"numgen inc mod {drops + 1} < {drops} drop"])


def schedule(lab, name: str, linear: int, max_drops: int, addr: tuple[str, int]) -> list[tuple[float, float]]:
    """Measured connect() time for k = 0 … max_drops lost SYNs; records figures <name>_connect_s_<k>."""
    points = []
    for k in range(max_drops + 1):
        drop_first_syns(lab, addr[1], k)
        took, code = lab.timed_connect("client", addr, predicted_connect_s(k, linear) + 5)
        if code:
            raise RuntimeError(f"connect() after {k} lost SYNs failed: {errno.errorcode.get(code, code)}")
        lab.figure(f"{name}_connect_s_{k}", round(took, 3), "s", f"{k} SYNs dropped")
        lab.figure(f"{name}_predicted_s_{k}", predicted_connect_s(k, linear), "s")
        points.append((k, took))
    lab.figure(f"{name}_connect_s_max", round(points[-1][1], 3), "s", f"{max_drops} SYNs dropped")
    lab.figure(f"{name}_predicted_s_max", predicted_connect_s(max_drops, linear), "s")
    return points


def run(lab) -> None:
    p = lab.params
    addr = (lab.addr("server"), int(p["port"]))
    with lab.inside("server"):
        listener = socket.create_server(addr, backlog=128)
    try:
        _measure(lab, p, addr)
    finally:
        listener.close()


def _measure(lab, p: dict, addr: tuple[str, int]) -> None:
    max_drops, retries = int(p["max_drops"]), int(p["syn_retries"])
    has_linear = lab.has_sysctl("client", LINEAR)
    kernel_linear = int(lab.sysctl_get("client", LINEAR)) if has_linear else 0
    lines = {}
    with lab.counting("client") as moved:
        if has_linear:
            lab.sysctl("client", LINEAR, 0)
        lab.step("book schedule: k lost SYNs, tcp_syn_linear_timeouts = 0")
        lines["measured (book schedule)"] = schedule(lab, "book", 0, max_drops, addr)
    lab.figure("syn_retrans", moved.get("TcpExtTCPSynRetrans", 0), "SYNs", "TcpExtTCPSynRetrans delta, client")
    lab.figure("syn_dropped", max_drops * (max_drops + 1) // 2, "SYNs", "SYNs the nftables rule dropped")
    lines["predicted: 1 s, doubling"] = [(k, predicted_connect_s(k)) for k in range(max_drops + 1)]
    if has_linear and kernel_linear > 0:
        lab.sysctl("client", LINEAR, kernel_linear)
        lab.step(f"this kernel's schedule: tcp_syn_linear_timeouts = {kernel_linear}")
        lines[f"measured (tcp_syn_linear_timeouts={kernel_linear})"] = schedule(
            lab, "kernel", kernel_linear, max_drops, addr)
        lab.sysctl("client", LINEAR, 0)
    else:
        lab.skip_figure("kernel_connect_s_max", "this kernel retransmits SYNs on the book's schedule "
                        "(no tcp_syn_linear_timeouts, or it is 0)")
    lab.step(f"every SYN dropped, tcp_syn_retries = {retries}")
    lab.nft_flush("server")
    lab.nft("server", [f"input tcp dport {addr[1]} tcp flags & (syn | ack) == syn drop"])
    lab.sysctl("client", "net.ipv4.tcp_syn_retries", retries)
    took, code = lab.timed_connect("client", addr, predicted_give_up_s(retries) + 10)
    lab.figure("give_up_s", round(took, 3), "s", f"tcp_syn_retries = {retries}")
    lab.figure("give_up_predicted_s", predicted_give_up_s(retries), "s")
    lab.figure("give_up_errno", code, "", errno.errorcode.get(code, "connected"))
    lab.chart("connect-time", "connect() time vs SYNs lost", "SYNs lost (retransmission number)",
              "connect() time (s)", lines)
