"""§3.3, §3.4, §1.1.4: a thread per connection blocked in read() against one epoll loop,
at growing numbers of connections: context switches, CPU and requests per second."""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

from netlab import cbuild
from netlab.labs import helper, tasks

HERE = Path(__file__).resolve().parent
SERVERS = {"threads": "C, thread per connection",  # each blocked in read()
           "epoll": "C, epoll loop",
           "python": "Python, epoll loop"}  # select.epoll, no selectors or asyncio
FD_MARGIN = 64  # files a helper holds besides its connections


def one_cpu() -> int:
    """The CPU both ends share. On two CPUs whichever end is faster decides how many sockets
    epoll_wait() finds ready, so the figure swings with the machine's other load; on one CPU
    the scheduler lets each end run its slice, and the server always finds the client's batch."""
    return max(os.sched_getaffinity(0))


def server_argv(kind: str, binary: Path, addr: str, size: int) -> list:
    if kind == "python":
        return [sys.executable, HERE / "pyserver.py", addr, 0, size]
    return [binary, kind, addr, 0, size]


def snapshot(server: helper.Helper) -> tuple[float, dict, tasks.TaskCounters]:
    """The server's counts and its threads' /proc counters at one moment: reading 1,000
    threads' files takes a while, so the counts are taken before and after and averaged."""
    t0, before = time.monotonic(), server.ask()
    cost = tasks.counters(server.pid)
    t1, after = time.monotonic(), server.ask()
    return (t0 + t1) / 2, {k: (before[k] + after[k]) / 2 for k in before}, cost


def measure(lab, kind: str, binaries: dict, conns: int, size: int, window: float, cpu: int) -> dict:
    """One server kind under ``conns`` connections in a closed loop; its costs over ``window``."""
    addr = lab.addr("server")
    with helper.start(lab, "server", helper.pinned(server_argv(kind, binaries["server"], addr, size), cpu), f"{kind} server") as srv:
        port = int(srv.line().split()[1])
        with helper.start(lab, "client", helper.pinned([binaries["client"], addr, port, conns, size], cpu), "client") as cli:
            cli.line(60)  # "connected N": every connection is up
            time.sleep(min(0.5, window / 2))  # the threads are made, the loop is warm
            t0, s0, k0 = snapshot(srv)
            c0 = tasks.counters(cli.pid)
            time.sleep(window)
            t1, s1, k1 = snapshot(srv)
            c1 = tasks.counters(cli.pid)
    done = s1["requests"] - s0["requests"]
    cost = k1 - k0
    waits = s1["waits"] - s0["waits"]
    return {"requests": done, "rps": done / (t1 - t0),
            "voluntary": cost.voluntary / max(done, 1), "involuntary": cost.involuntary / max(done, 1),
            "cpu_us": cost.cpu_ns / 1e3 / max(done, 1),
            "user_share": cost.user_s / max(cost.user_s + cost.system_s, 1e-9),
            "events_per_wait": (s1["events"] - s0["events"]) / waits if waits else 0.0,
            "threads": k1.threads, "client_cpu_us": (c1 - c0).cpu_ns / 1e3 / max(done, 1),
            "cpus_busy": ((k1 - k0).cpu_ns + (c1 - c0).cpu_ns) / 1e9 / (t1 - t0)}


def open_file_room(lab, wanted: list[int]) -> list[int]:
    """The connection counts that fit under the hard open-file limit, read now."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    lab.figure("nofile_hard", hard, "files", "RLIMIT_NOFILE hard limit; each helper raises its soft limit to it")
    fits = [n for n in wanted if n + FD_MARGIN <= hard]
    for n in sorted(set(wanted) - set(fits)):
        lab.step(f"{n} connections do not fit under the open-file limit {hard}: left out")
    if not fits:
        lab.skip(f"the hard open-file limit {hard} leaves no room for {min(wanted)} connections")
    return fits


def medians(rounds: list[dict]) -> dict:
    """Each metric's median over the rounds, and its spread (min, max)."""
    out = {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
    out["spread"] = {k: (min(r[k] for r in rounds), max(r[k] for r in rounds)) for k in rounds[0]}
    return out


def per_n(results: dict, counts: list[int], fn) -> float:
    """The median over the connection counts of ``fn(threads, epoll, python)`` at each count."""
    return statistics.median(fn(results["threads"][n], results["epoll"][n], results["python"][n]) for n in counts)


def record_each(lab, results: dict, rounds: int) -> None:
    for kind, by_n in results.items():
        for n, r in by_n.items():
            tag, lo_hi = f"{kind}_{n}", r["spread"]
            spread = f"median of {rounds}, {lo_hi['cpu_us'][0]:.1f}–{lo_hi['cpu_us'][1]:.1f}" if rounds > 1 else "1 round"
            lab.figure(f"rps_{tag}", round(r["rps"]), "requests/s", f"{SERVERS[kind]}; {r['cpus_busy']:.2f} CPUs busy "
                       "(server + client; the rest went to the machine's other load)")
            lab.figure(f"waits_per_req_{tag}", round(r["voluntary"], 3), "switches",
                       "voluntary context switches per request, all threads (/proc/PID/task/*/status)")
            lab.figure(f"preempted_per_req_{tag}", round(r["involuntary"], 3), "switches", "involuntary, per request")
            lab.figure(f"cpu_us_{tag}", round(r["cpu_us"], 2), "µs", f"server CPU per request (schedstat), {spread}")
            lab.figure(f"client_cpu_us_{tag}", round(r["client_cpu_us"], 2), "µs", "client CPU per request")
            lab.figure(f"user_share_{tag}", round(r["user_share"], 2), "", "user / (user + system) CPU time")
            if kind != "threads":
                lab.figure(f"events_per_wait_{tag}", round(r["events_per_wait"], 1), "events",
                           "ready sockets per epoll_wait() call")


def record(lab, results: dict, counts: list[int]) -> None:
    top, low = max(counts), min(counts)
    t, e = results["threads"][top], results["epoll"][top]
    lab.figure("connections_top", top, "connections", "the most connections measured")
    lab.figure("threads_count", t["threads"], "threads", f"threads of the blocking server at {top} connections")
    lab.figure("threads_waits_per_req", round(t["voluntary"], 3), "switches", f"thread per connection, {top} connections")
    lab.figure("epoll_waits_per_req", round(e["voluntary"], 3), "switches", f"epoll, {top} connections")
    lab.figure("epoll_events_per_wait", round(e["events_per_wait"], 1), "events", f"epoll, {top} connections")
    lab.figure("epoll_events_per_wait_low", round(results["epoll"][low]["events_per_wait"], 1), "events",
               f"epoll, {low} connections")
    lab.figure("threads_vs_epoll_cpu", round(per_n(results, counts, lambda t, e, p: t["cpu_us"] / e["cpu_us"]), 2),
               "×", "CPU per request, thread per connection / epoll (median over the connection counts)")
    lab.figure("wait_cost_us", round(per_n(results, counts, lambda t, e, p: (t["cpu_us"] - e["cpu_us"])
                                           / max(t["voluntary"] - e["voluntary"], 1e-9)), 1),
               "µs", "extra CPU per extra blocking wait (sleep, wake-up, two switches), threads − epoll")
    growth = {k: results[k][top]["cpu_us"] / results[k][low]["cpu_us"] for k in SERVERS}
    lab.figure("threads_cpu_growth", round(growth["threads"], 2), "×", f"CPU per request at {top} / at {low} connections")
    lab.figure("epoll_cpu_growth", round(growth["epoll"], 2), "×", f"CPU per request at {top} / at {low} connections")
    lab.figure("threads_relative_growth", round(growth["threads"] / growth["epoll"], 2), "×",
               f"growth of CPU per request from {low} to {top} connections, threads / epoll")
    lab.figure("epoll_vs_threads_rps", round(e["rps"] / t["rps"], 2), "×",
               f"requests/s at {top} connections (with {t['cpus_busy']:.2f} CPUs busy for threads, "
               f"{e['cpus_busy']:.2f} for epoll: the machine's other load decides the rest)")
    lab.figure("language_vs_model", round(per_n(results, counts, lambda t, e, p: (p["cpu_us"] - e["cpu_us"])
                                                / max(t["cpu_us"] - e["cpu_us"], 1e-9)), 2),
               "×", "CPU Python adds to an epoll loop / CPU blocking threads add (median over the counts)")
    lab.figure("python_vs_c_cpu", round(per_n(results, counts, lambda t, e, p: p["cpu_us"] / e["cpu_us"]), 2), "×",
               "CPU per request, Python epoll / C epoll (median over the counts)")
    lab.figure("python_user_share", round(per_n(results, counts, lambda t, e, p: p["user_share"]), 2), "",
               "share of the Python server's CPU in user space (clock ticks; median over the counts)")


def charts(lab, results: dict, counts: list[int]) -> None:
    def groups(key: str, kinds=SERVERS) -> dict:
        return {SERVERS[k]: {f"{n} connections": round(results[k][n][key], 3) for n in counts} for k in kinds}

    lab.bars("switches", "Voluntary context switches per request", "switches / request", groups("voluntary"))
    lab.bars("cpu", "Server CPU per request", "µs / request", groups("cpu_us"))
    lab.bars("rps", "Requests per second (server and client on one CPU)", "requests/s", groups("rps"))
    lab.bars("events", "Ready sockets per epoll_wait()", "events / call", groups("events_per_wait", ("epoll", "python")))


def run(lab) -> None:
    p = lab.params
    size, window, rounds = int(p["size"]), float(p["seconds"]), int(p["rounds"])
    counts = open_file_room(lab, [int(n) for n in p["connections"]])
    lab.step("compiling server.c and client.c")
    binaries = {"server": cbuild.build(HERE / "server.c", libs=("pthread",)), "client": cbuild.build(HERE / "client.c")}
    cpu = one_cpu()
    lab.step(f"server and client share CPU {cpu} (taskset), so the server's load is the client's whole batch")
    runs: dict = {(kind, n): [] for kind in SERVERS for n in counts}
    for i in range(rounds):  # rounds interleave the servers, so a change in the machine's load hits all
        for n in counts:
            for kind in SERVERS:
                lab.step(f"round {i + 1}/{rounds}: {SERVERS[kind]}, {n} connections for {window:g} s")
                runs[kind, n].append(measure(lab, kind, binaries, n, size, window, cpu))
    results = {kind: {n: medians(runs[kind, n]) for n in counts} for kind in SERVERS}
    record_each(lab, results, rounds)
    record(lab, results, counts)
    charts(lab, results, counts)
