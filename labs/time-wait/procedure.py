"""§1.1.1 and ch. 7: TIME_WAIT: who keeps it, for how long, what it costs, and the two knobs."""

from __future__ import annotations

import errno
import re
import socket
import time


def short_connections(lab, node: str, listener: socket.socket, count: int) -> int:
    """``count`` connections from ``node``, each closed by the client first; returns how many
    connect() calls succeeded before the first error."""
    addr = listener.getsockname()
    for i in range(count):
        c = lab.socket(node)
        try:
            c.connect(addr)
        except OSError:
            c.close()
            return i
        s, _ = listener.accept()
        c.close()
        s.settimeout(5)
        s.recv(1)  # the client's FIN
        s.close()
    return count


def tw_timer_s(lab, node: str) -> int:
    """Seconds left on the youngest TIME_WAIT's timer, from `ss -tano`."""
    out = lab.run(node, ["ss", "-Htano", "state", "time-wait"], capture=True, check=True).stdout.decode()
    left = [int(m) for m in re.findall(r"timer:\(timewait,(\d+)sec", out)]
    return max(left, default=0)


def run(lab) -> None:
    p = lab.params
    conns, cap, ports = int(p["conns"]), int(p["tw_cap"]), int(p["ports"])
    with lab.inside("server"):
        listener = socket.create_server((lab.addr("server"), int(p["port"])), backlog=128)
    try:
        who_and_how_long(lab, listener, conns)
        capped(lab, listener, conns, cap)
        reuse(lab, listener, ports)
    finally:
        listener.close()


def who_and_how_long(lab, listener: socket.socket, conns: int) -> None:
    lab.step(f"{conns} short connections, client closes first")
    before = lab.slabinfo()
    short_connections(lab, "client", listener, conns)
    after = lab.slabinfo()
    lab.figure("tw_client", lab.ss_states("client").get("TIME-WAIT", 0), "connections", "ss, client")
    lab.figure("tw_server", lab.ss_states("server").get("TIME-WAIT", 0), "connections", "ss, server")
    lab.figure("tw_sockstat", lab.sockstat("client")["TCP"]["tw"], "", "/proc/net/sockstat tw, client")
    lab.figure("tw_timer_s", tw_timer_s(lab, "client"), "s", "timewait timer in ss -o, just after")
    lab.figure("fin_timeout_s", int(lab.sysctl_get("client", "net.ipv4.tcp_fin_timeout")), "s")
    tw, tcp = after["tw_sock_TCP"], after["TCP"]
    grew = tw.active_objs - before["tw_sock_TCP"].active_objs
    lab.figure("tw_slab_per_conn", round(grew / conns, 2), "objects", "tw_sock_TCP active objects gained per "
               "connection (machine-wide: other activity adds noise)")
    lab.figure("tw_sock_bytes", tw.objsize, "bytes", "tw_sock_TCP object size")
    lab.figure("tcp_sock_bytes", tcp.objsize, "bytes", "TCP (struct tcp_sock) object size")


def capped(lab, listener: socket.socket, conns: int, cap: int) -> None:
    lab.step(f"tcp_max_tw_buckets = {cap} in `capped`")
    lab.sysctl("capped", "net.ipv4.tcp_max_tw_buckets", cap)
    with lab.counting("capped") as moved:
        short_connections(lab, "capped", listener, conns)
    lab.figure("tw_capped", lab.ss_states("capped").get("TIME-WAIT", 0), "connections", "ss, capped")
    lab.figure("tw_overflow", moved.get("TcpExtTCPTimeWaitOverflow", 0), "", "TcpExtTCPTimeWaitOverflow delta")
    lab.figure("tw_over_cap", conns - cap, "connections")


def reuse(lab, listener: socket.socket, ports: int) -> None:
    low = 40000
    lab.step(f"ip_local_port_range of {ports} ports in `reuser`, tcp_tw_reuse = 0")
    lab.sysctl("reuser", "net.ipv4.ip_local_port_range", (low, low + ports - 1))
    lab.sysctl("reuser", "net.ipv4.tcp_tw_reuse", 0)
    made = short_connections(lab, "reuser", listener, ports)
    lab.figure("tw_reuser", made, "connections", "ports now in TIME_WAIT")
    c = lab.socket("reuser")
    try:
        c.connect(listener.getsockname())
        code = 0
    except OSError as exc:
        code = exc.errno
    c.close()
    lab.figure("errno_no_reuse", code, "", errno.errorcode.get(code, "connected"))
    delay_ms = int(lab.sysctl_get("reuser", "net.ipv4.tcp_tw_reuse_delay")) \
        if lab.has_sysctl("reuser", "net.ipv4.tcp_tw_reuse_delay") else 1000
    lab.step(f"tcp_tw_reuse = 1 after {delay_ms} ms")
    lab.sysctl("reuser", "net.ipv4.tcp_tw_reuse", 1)
    time.sleep(delay_ms / 1000 + 1.0)
    lab.figure("reused_connects", short_connections(lab, "reuser", listener, ports), "connections",
               "connect() calls that took over a TIME_WAIT port")
