"""Ch. 7: slab bytes per socket in ESTABLISHED, FIN_WAIT2, CLOSE_WAIT and TIME_WAIT."""

from __future__ import annotations

import resource
import socket
import time

SETTLE_S = 0.3  # let softirqs finish the handshakes and closes before reading slabinfo
# The slab caches a TCP socket and its file descriptor use (book §7.3). Summing only
# these keeps the machine's other slab activity out of the figure.
SOCKET_CACHES = ("TCP", "tw_sock_TCP", "request_sock_TCP", "sock_inode_cache", "dentry", "filp",
                 "skbuff_head_cache", "skbuff_small_head", "lsm_inode_cache", "lsm_file_cache")
# Frees of socket inodes and dentries wait for an RCU grace period and show in
# slabinfo only later; sockets, tw_socks and skbs are freed at once. After a close,
# only these are compared.
PROMPT_CACHES = ("TCP", "tw_sock_TCP", "skbuff_head_cache", "skbuff_small_head")
ROUNDS = 3
NOT_QUIET = "the machine was not quiet (other sockets came and went)"
NOISY_FIGURES = ("est_bytes", "est_tcp_objects", "fin_wait2_bytes", "close_wait_tcp_objects", "time_wait_bytes")


def slabs(lab) -> dict:
    time.sleep(SETTLE_S)
    return lab.slabinfo()


def wait_quiet(lab, timeout: float = 8.0) -> None:
    """Wait until the socket caches' object counts hold still for two readings in a row
    (sockets closed just before, and those of namespaces deleted just before, are freed
    after an RCU grace period), at most ``timeout`` s."""
    deadline, last, still = time.monotonic() + timeout, lab.slabinfo(), 0
    while time.monotonic() < deadline and still < 2:
        time.sleep(0.3)
        now = lab.slabinfo()
        still = still + 1 if moved(last, now, SOCKET_CACHES) < 10 else 0
        last = now


def moved(before: dict, after: dict, caches: tuple[str, ...]) -> int:
    """The largest change in object count among ``caches``."""
    return max(abs(after[c].active_objs - before[c].active_objs) for c in caches if c in after and c in before)


def steady(lab, snap: dict, caches: tuple[str, ...], slack: int) -> bool:
    """True if, a moment after ``snap``, no cache of ``caches`` moved by more than ``slack`` objects."""
    return moved(snap, slabs(lab), caches) <= slack


def gained(before: dict, after: dict, caches: tuple[str, ...], per: int) -> float:
    """Bytes the caches gained, per ``per`` sockets."""
    return sum(after[c].active_bytes - before[c].active_bytes for c in caches if c in after and c in before) / per


def objects(before: dict, after: dict, cache: str, per: int) -> float:
    return round((after[cache].active_objs - before[cache].active_objs) / per, 3)


def run(lab) -> None:
    conns = int(lab.params["conns"])
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * conns + 100:
        lab.skip(f"needs {2 * conns + 100} file descriptors; the hard RLIMIT_NOFILE is {hard}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    with lab.inside("server"):
        listener = socket.create_server((lab.addr("server"), int(lab.params["port"])), backlog=4096)
    try:
        for round_ in range(1, ROUNDS + 1):
            clients: list[socket.socket] = []
            servers: list[socket.socket] = []
            try:
                quiet = measure(lab, conns, listener, clients, servers)
            finally:
                for s in clients + servers:
                    s.close()
            if quiet:
                break
            lab.series.clear()
            lab.step("other sockets came and went on the machine meanwhile: measuring again")
        else:
            lab.series.clear()
            for name in NOISY_FIGURES:
                lab.skip_figure(name, f"{NOT_QUIET} in all {ROUNDS} rounds: /proc/slabinfo is machine-wide")
        lab.figure("rounds", round_, "", "rounds measured; a round is redone when a socket slab cache moved by "
                   "more than the lab's own sockets explain (other activity on the machine)")
    finally:
        listener.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def measure(lab, conns: int, listener: socket.socket, clients: list, servers: list) -> bool:
    """One round of the four states; False if the TCP cache's object count shows that
    other sockets were opened or closed on the machine meanwhile."""
    wait_quiet(lab)
    slack = max(conns // 20, 20)
    s0 = slabs(lab)
    quiet = steady(lab, s0, SOCKET_CACHES, slack)
    lab.step(f"{conns} connections ESTABLISHED")
    for _ in range(conns):
        c = lab.socket("client")
        c.connect(listener.getsockname())
        clients.append(c)
        servers.append(listener.accept()[0])
    s1 = slabs(lab)
    quiet = quiet and steady(lab, s1, SOCKET_CACHES, slack)
    est = gained(s0, s1, SOCKET_CACHES, 2 * conns)
    lab.figure("est_bytes", round(est), "bytes/socket", "socket slab caches: bytes gained / (2 × connections)")
    lab.figure("est_tcp_objects", objects(s0, s1, "TCP", 2 * conns), "objects/socket", "TCP slab")
    lab.step("client closes: FIN_WAIT2 / CLOSE_WAIT")
    for c in clients:
        c.close()
    clients.clear()
    s2 = slabs(lab)
    quiet = quiet and steady(lab, s2, PROMPT_CACHES, slack)
    fin_wait2 = gained(s0, s2, ("tw_sock_TCP",), conns)
    close_wait = est + gained(s1, s2, ("skbuff_head_cache", "skbuff_small_head"), conns)
    lab.figure("fin_wait2_bytes", round(fin_wait2), "bytes/socket", "tw_sock_TCP bytes gained per connection")
    lab.figure("fin_wait2_states", lab.ss_states("client").get("FIN-WAIT-2", 0), "sockets", "ss, client")
    lab.figure("close_wait_tcp_objects", objects(s0, s2, "TCP", conns), "objects/connection",
               "TCP objects left per connection: the server's kept, the client's freed")
    lab.figure("close_wait_bytes", round(close_wait), "bytes/socket",
               "the ESTABLISHED socket it keeps + the skbs it holds (the unread FIN)")
    lab.step("server closes: TIME_WAIT")
    for s in servers:
        s.close()
    servers.clear()
    s3 = slabs(lab)
    quiet = quiet and steady(lab, s3, PROMPT_CACHES, slack)
    time_wait = gained(s0, s3, PROMPT_CACHES, conns)
    lab.figure("time_wait_bytes", round(time_wait), "bytes/socket", "TCP, tw_sock_TCP and skb bytes per connection")
    lab.figure("time_wait_states", lab.ss_states("client").get("TIME-WAIT", 0), "sockets", "ss, client")
    lab.bars("memory-per-state", "Kernel memory per socket, by TCP state (slab)", "bytes per socket",
             {"ESTABLISHED": est, "FIN_WAIT2": fin_wait2, "CLOSE_WAIT": close_wait, "TIME_WAIT": time_wait})
    expected_tcp = ((s1, 2 * conns), (s2, conns), (s3, 0))
    return quiet and all(abs(s["TCP"].active_objs - s0["TCP"].active_objs - n) <= slack
                         for s, n in expected_tcp)
