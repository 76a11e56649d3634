"""§3.4, §6.2: how many of N waiting processes one new connection wakes — accept(),
epoll_wait() without and with EPOLLEXCLUSIVE, SO_REUSEPORT listeners."""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from netlab import cbuild
from netlab.labs import helper, tasks

HERE = Path(__file__).resolve().parent
MODES = {"accept": "accept() on one listener",
         "epoll": "epoll_wait() on one listener",
         "epoll-exclusive": "epoll_wait(), EPOLLEXCLUSIVE",
         "reuseport": "SO_REUSEPORT listeners, accept()"}


def state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def settle(pids: list[int], timeout: float = 2.0) -> None:
    """Wait until every process sleeps again: a woken one is runnable until it has
    looked, found nothing (or accepted) and gone back to sleep — a voluntary switch."""
    deadline = time.monotonic() + timeout
    while any(state(p) != "S" for p in pids):
        if time.monotonic() > deadline:
            raise RuntimeError(f"processes still running after {timeout} s: {[state(p) for p in pids]}")
        time.sleep(0.0005)


def switches(pids: list[int]) -> list[int]:
    return [tasks.counters(p).voluntary for p in pids]


def accepted(server: helper.Helper, count: int, timeout: float = 5.0) -> dict:
    """The herd's counters once ``count`` connections have been accepted."""
    deadline = time.monotonic() + timeout
    while (seen := server.ask())["accepts"] < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {seen['accepts']} of {count} connections were accepted")
        time.sleep(0.0002)
    return seen


def herd(lab, binary: Path, mode: str, procs: int, conns: int, port: int) -> dict:
    """``conns`` connections, one at a time, to ``procs`` processes waiting in ``mode``."""
    addr = (lab.addr("server"), port)
    woken, wakeups = [], 0
    with helper.start(lab, "server", [binary, mode, procs, *addr], f"herd {mode}") as server:
        pids = [int(p) for p in server.line().split()[1:]]
        settle(pids)
        first = server.ask()
        for i in range(conns):
            before = switches(pids)
            client = lab.socket("client")
            client.connect(addr)
            accepted(server, i + 1)
            settle(pids)
            moved = [a - b for a, b in zip(switches(pids), before)]
            client.close()
            woken.append(sum(m > 0 for m in moved))
            wakeups += sum(moved)
        last = server.ask()
    per_child = [last[f"accepts_{i}"] for i in range(procs)]
    return {"woken": statistics.mean(woken), "woken_max": max(woken), "wakeups": wakeups / conns,
            "returns": (last["wakes"] - first["wakes"]) / conns, "empty": (last["empty"] - first["empty"]) / conns,
            "busiest": max(per_child) / conns, "accepting": sum(a > 0 for a in per_child)}


def record(lab, results: dict, counts: list[int], conns: int) -> None:
    for (mode, n), r in results.items():
        tag = f"{mode.replace('-', '_')}_{n}"
        lab.figure(f"woken_{tag}", round(r["woken"], 2), "processes",
                   f"{MODES[mode]}: processes whose voluntary switches moved, per connection (max {r['woken_max']})")
        lab.figure(f"empty_{tag}", round(r["empty"], 2), "accept() calls", "that found nothing (EAGAIN), per connection")
        lab.figure(f"returns_{tag}", round(r["returns"], 2), "returns", "from accept()/epoll_wait(), per connection")
        lab.figure(f"busiest_{tag}", round(r["busiest"], 3), "", f"share of the {conns} connections the busiest "
                   f"process accepted ({r['accepting']} of {n} accepted any)")
    top = max(counts)
    for mode in MODES:
        r, key = results[mode, top], mode.replace("-", "_")
        lab.figure(f"{key}_woken", round(r["woken"], 2), "processes", f"{MODES[mode]}, {top} processes, per connection")
        lab.figure(f"{key}_empty", round(r["empty"], 2), "accept() calls", f"found nothing, per connection, {top} processes")
        lab.figure(f"{key}_busiest", round(r["busiest"], 3), "", f"busiest process's share of the connections, {top} processes")
    lab.figure("processes", top, "processes", "waiting processes in the largest herd")
    lab.figure("fair_ceiling", round(-(-conns // top) / conns, 3), "", f"⌈{conns}/{top}⌉ / {conns}: the largest share "
               "when the connections go round the processes in turn")
    ep = results["epoll", top]
    lab.figure("epoll_returns", round(ep["returns"], 2), "returns",
               f"from epoll_wait() to user space per connection, {ep['woken']:.1f} processes woken")
    lab.figure("epoll_losers_hidden", round(1 - (ep["returns"] - 1) / max(ep["woken"] - 1, 1), 2), "",
               f"share of the woken losers that went back to sleep inside epoll_wait(); the others returned "
               f"and their accept() found nothing ({ep['empty']:.2f} EAGAIN per connection)")
    lab.figure("reuseport_accepting_share", round(results["reuseport", top]["accepting"] / top, 2), "",
               f"share of the {top} SO_REUSEPORT listeners that got a connection")
    lab.figure("epoll_woken_share", round(results["epoll", top]["woken"] / top, 2), "",
               "share of the processes an epoll listener wakes per connection")


def charts(lab, results: dict, counts: list[int]) -> None:
    top = max(counts)
    lab.bars("woken", "Processes woken per connection", "woken / connection",
             {MODES[m]: {f"{n} waiting": round(results[m, n]["woken"], 2) for n in counts} for m in MODES})
    lab.bars("busiest", f"Busiest process's share of the connections, {top} waiting", "share",
             {MODES[m]: round(results[m, top]["busiest"], 3) for m in MODES})


def run(lab) -> None:
    p = lab.params
    counts, conns, port = [int(n) for n in p["processes"]], int(p["connections"]), int(p["port"])
    lab.step("compiling herd.c")
    binary = cbuild.build(HERE / "herd.c")
    results = {}
    for n in counts:
        for mode in MODES:
            lab.step(f"{n} processes, {MODES[mode]}: {conns} connections one at a time")
            results[mode, n] = herd(lab, binary, mode, n, conns, port)
    record(lab, results, counts, conns)
    charts(lab, results, counts)
