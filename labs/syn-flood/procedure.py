"""§6.6.2: a SYN flood against the half-open queue, without and with SYN cookies."""

from __future__ import annotations

import errno
import socket
import time

from netlab.traffic import api
from netlab.traffic.rst import rst_rule


def run(lab) -> None:
    p = lab.params
    addr = (lab.addr("server"), int(p["port"]))
    lab.sysctl("server", "net.ipv4.tcp_syncookies", 0)
    lab.sysctl("client", "net.ipv4.tcp_syn_retries", int(p["syn_retries"]))
    with lab.inside("server"):
        listener = socket.create_server(addr, backlog=int(p["backlog"]))
    try:
        flood_then_connect(lab, p, addr)
    finally:
        listener.close()


def flood_then_connect(lab, p: dict, addr: tuple[str, int]) -> None:
    lab.nft("attacker", [f"output {rst_rule(*addr)}"])
    lab.step(f"flood: {p['flood']} SYNs at {addr[0]}:{addr[1]}")
    with lab.counting("server") as moved:
        sent = api.synflood(lab.lab, "attacker", addr[0], addr[1], int(p["flood"]), 10.0)
        lab.figure("flood_sent", sent["sent"], "SYNs")
        lab.figure("flood_pps", sent["pps"], "SYN/s", "prebuilt bytes on one raw socket")
        time.sleep(0.2)
        lab.figure("syn_recv", lab.ss_states("server").get("SYN-RECV", 0), "requests",
                   "SYN-RECV sockets in ss")
        lab.step("legitimate connect(), tcp_syncookies = 0")
        took, code = lab.timed_connect("client", addr, 30)
    lab.figure("legit_connect_s_nocookies", round(took, 3), "s")
    lab.figure("legit_errno_nocookies", code, "", errno.errorcode.get(code, "connected"))
    lab.figure("reqq_full_drop", moved.get("TcpExtTCPReqQFullDrop", 0), "SYNs", "TcpExtTCPReqQFullDrop delta")
    lab.figure("listen_drops", moved.get("TcpExtListenDrops", 0), "SYNs", "TcpExtListenDrops delta")
    lab.step("legitimate connect(), tcp_syncookies = 1")
    lab.sysctl("server", "net.ipv4.tcp_syncookies", 1)
    with lab.counting("server") as moved:
        took, code = lab.timed_connect("client", addr, 30)
    lab.figure("legit_connect_s_cookies", round(took, 3) if code == 0 else float("inf"), "s",
               errno.errorcode.get(code, "connected"))
    lab.figure("reqq_full_do_cookies", moved.get("TcpExtTCPReqQFullDoCookies", 0), "SYNs")
    lab.figure("syncookies_sent", moved.get("TcpExtSyncookiesSent", 0), "", "TcpExtSyncookiesSent delta")
    lab.figure("syncookies_recv", moved.get("TcpExtSyncookiesRecv", 0), "", "TcpExtSyncookiesRecv delta")
