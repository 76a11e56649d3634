"""§6.6.2: a SYN flood against the half-open queue, without and with SYN cookies.

The queue is kept full while the cookie step runs: while the queue is more than half
full of old requests the kernel lowers their SYN-ACK retry threshold
(reqsk_timer_handler), so by the end of a connect() that waited out its SYN retries
(~7 s with tcp_syn_retries = 2) the first flood's requests have expired, and a cookie
step run on that emptied queue would find no reason to send a cookie. A burst once is
not enough on a busy machine either (seen: the queue half full again by the connect), so
the attacker sends bursts of new source ports until the connect is done."""

from __future__ import annotations

import contextlib
import errno
import socket
import time

from netlab.traffic import api
from netlab.traffic.rst import rst_rule
from netlab.traffic.synflood import DISTINCT

KEEP_S = 12.0  # the attacker floods this long at most (the cookie step needs a full queue, then ms)
FULL_WITHIN_S = 10.0  # how long the queue may take to be full again
GAP = 0.05  # between the attacker's bursts


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


def _flood(lab, p: dict, addr: tuple[str, int]) -> dict:
    """Fill the server's half-open queue; the SYN-RECV requests it holds after."""
    sent = api.synflood(lab.lab, "attacker", addr[0], addr[1], int(p["flood"]), 10.0)
    time.sleep(0.2)
    return {**sent, "syn_recv": lab.ss_states("server").get("SYN-RECV", 0)}


def _keep_full(dst: str, dport: int, burst: int, seconds: float) -> int:
    """In the attacker: a burst of SYNs from new source ports every GAP s for ``seconds``,
    so each request the kernel expires is replaced at once. Returns the SYNs sent."""
    from netlab.traffic import synflood

    sent, i, end = 0, 0, time.monotonic() + seconds
    while time.monotonic() < end:
        first = 20000 + (i * burst) % (40000 - burst)
        sent += synflood.flood(dst, dport, burst, 1.0, first_sport=first)["sent"]
        i += 1
        time.sleep(GAP)
    return sent


@contextlib.contextmanager
def _flooding(lab, p: dict, addr: tuple[str, int]):
    """The attacker keeping the half-open queue full while the block runs."""
    keeper = lab.spawn("attacker", _keep_full, addr[0], addr[1], min(2 * int(p["backlog"]), DISTINCT), KEEP_S)
    try:
        yield
    finally:
        keeper.stop()


def _full_again(lab, backlog: int) -> int:
    """SYN-RECV requests once the queue holds ``backlog`` again (or FULL_WITHIN_S passed).

    Seen here: the first flood's requests expire in halves, and new SYNs take up to 2 s
    to fill the freed half (the kernel admits them only as its timer frees the slots)."""
    deadline = time.monotonic() + FULL_WITHIN_S
    while True:
        held = lab.ss_states("server").get("SYN-RECV", 0)
        if held >= backlog or time.monotonic() > deadline:
            return held
        time.sleep(0.1)


def flood_then_connect(lab, p: dict, addr: tuple[str, int]) -> None:
    lab.nft("attacker", [f"output {rst_rule(*addr)}"])
    lab.step(f"flood: {p['flood']} SYNs at {addr[0]}:{addr[1]}")
    with lab.counting("server") as moved:
        sent = _flood(lab, p, addr)
        lab.figure("flood_sent", sent["sent"], "SYNs")
        lab.figure("flood_pps", sent["pps"], "SYN/s", "prebuilt bytes on one raw socket")
        lab.figure("syn_recv", sent["syn_recv"], "requests", "SYN-RECV sockets in ss")
        lab.step("legitimate connect(), tcp_syncookies = 0, the flood kept on (its retries outlast the first flood's requests)")
        with _flooding(lab, p, addr):
            took, code = lab.timed_connect("client", addr, 30)
    lab.figure("legit_connect_s_nocookies", round(took, 3), "s")
    lab.figure("legit_errno_nocookies", code, "", errno.errorcode.get(code, "connected"))
    lab.figure("reqq_full_drop", moved.get("TcpExtTCPReqQFullDrop", 0), "SYNs", "TcpExtTCPReqQFullDrop delta")
    lab.figure("listen_drops", moved.get("TcpExtListenDrops", 0), "SYNs", "TcpExtListenDrops delta")
    lab.step("flood on while the cookie step runs: the waiting connect() let the kernel expire "
             "the first flood's requests")
    with _flooding(lab, p, addr):
        lab.figure("syn_recv_before_cookies", _full_again(lab, int(p["backlog"])), "requests",
                   "SYN-RECV sockets in ss when the cookie step starts")
        lab.step("legitimate connect(), tcp_syncookies = 1")
        lab.sysctl("server", "net.ipv4.tcp_syncookies", 1)
        with lab.counting("server") as moved:
            took, code = lab.timed_connect("client", addr, 30)
    lab.figure("legit_connect_s_cookies", round(took, 3) if code == 0 else float("inf"), "s",
               errno.errorcode.get(code, "connected"))
    lab.figure("reqq_full_do_cookies", moved.get("TcpExtTCPReqQFullDoCookies", 0), "SYNs")
    lab.figure("syncookies_sent", moved.get("TcpExtSyncookiesSent", 0), "", "TcpExtSyncookiesSent delta")
    lab.figure("syncookies_recv", moved.get("TcpExtSyncookiesRecv", 0), "", "TcpExtSyncookiesRecv delta")
