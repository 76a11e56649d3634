"""§9.2: busy polling (SO_BUSY_POLL) on request/response round trips over a veth —
nothing to poll on a veth as created, sleeps traded for CPU once its NAPI context is on."""

from __future__ import annotations

import os
import shutil
import statistics
from pathlib import Path

from netlab import cbuild
from netlab.labs import helper

HERE = Path(__file__).resolve().parent
SIZE = 64  # request and response bytes
NAPI_ON = ["gro", "on", "tso", "off"]  # veth takes the NAPI path for GRO-eligible (non-TSO) packets
NAPI_OFF = ["gro", "off", "tso", "on"]


def cpus() -> tuple[int, int]:
    """(client CPU, server CPU): two different ones, or the one twice where only one may be
    used. Pinned, every run has the same placement: left to the scheduler, client and server
    share a CPU in some runs (a 17 µs round trip on this VM) and not in others (85 µs, a
    wake-up of an idle vCPU), and a ratio of two runs measured the scheduler."""
    allowed = sorted(os.sched_getaffinity(0))
    return allowed[0], allowed[min(1, len(allowed) - 1)]


def round_trips(lab, binary: Path, count: int, busy_us: int, where: tuple[int, int]) -> dict:
    """``count`` round trips timed by the C client, which busy polls for ``busy_us`` (the
    server never does: one spinning thread leaves the other CPU to the server)."""
    addr = lab.addr("server")
    with helper.start(lab, "server", helper.pinned([binary, "server", addr, 0, SIZE, 0], where[1]), "rr server") as server:
        port = server.line().split()[1]
        done = lab.run("client", helper.pinned([binary, "client", addr, port, SIZE, count, busy_us], where[0]),
                       capture=True, timeout=120, check=True)
    out = {k: int(v) for k, v in (w.split("=") for w in done.stdout.decode().split())}
    return {"us": out["median_ns"] / 1e3, "p99_us": out["p99_ns"] / 1e3, "napi_id": out["napi_id"],
            "sleeps": out["waits"] / count, "cpu_us": out["cpu_ns"] / 1e3 / count}


def interleaved(lab, binary: Path, count: int, busy: int, rounds: int, where: tuple[int, int]) -> dict:
    """Without and with busy polling in turn, ``rounds`` times, in alternating order (a
    drift of the machine's load favours neither); each mode's medians, and the median of
    each round's busy / plain ratio of round trip and of sleeps (a pair measured moments
    apart shares its conditions, where two medians over the whole step need not)."""
    runs: dict = {0: [], busy: []}
    for i in range(rounds):
        for b in ((0, busy) if i % 2 == 0 else (busy, 0)):
            runs[b].append(round_trips(lab, binary, count, b, where))
    out = {("plain" if b == 0 else "busy"): {k: statistics.median(r[k] for r in rs) for k in rs[0]}
           for b, rs in runs.items()}
    for key in ("us", "sleeps"):
        out[f"{key}_ratio"] = statistics.median(b[key] / max(p[key], 1e-9) for p, b in zip(runs[0], runs[busy]))
    return out


def offloads(lab, words: list[str]) -> None:
    for node in ("client", "server"):
        lab.run(node, ["ethtool", "-K", "eth0", *words], check=True, capture=True)


def record(lab, veth: str, r: dict, busy: int) -> None:
    for mode in ("plain", "busy"):
        m = r[mode]
        lab.figure(f"{veth}_{mode}_us", round(m["us"], 1), "µs", f"median round trip (p99 {m['p99_us']:.0f} µs), "
                   f"{m['sleeps']:.2f} sleeps and {m['cpu_us']:.1f} µs client CPU per round trip")
    lab.figure(f"{veth}_napi_id", r["plain"]["napi_id"], "", "SO_INCOMING_NAPI_ID of the client's socket")
    lab.figure(f"{veth}_sleeps_busy", round(r["busy"]["sleeps"], 3), "per round trip",
               f"client's voluntary context switches with SO_BUSY_POLL = {busy} µs (without: {r['plain']['sleeps']:.2f})")
    lab.figure(f"{veth}_sleeps_ratio", round(r["sleeps_ratio"], 2), "×",
               "client sleeps per round trip, busy polling / not")
    lab.figure(f"{veth}_cpu_ratio", round(r["busy"]["cpu_us"] / r["plain"]["cpu_us"], 2), "×",
               "client CPU per round trip, busy polling / not")
    lab.figure(f"{veth}_busy_cpu_share", round(r["busy"]["cpu_us"] / r["busy"]["us"], 2), "",
               "client CPU per round trip / median round trip, busy polling: the share of the wait spent on "
               f"the CPU (without: {r['plain']['cpu_us'] / r['plain']['us']:.2f})")
    lab.figure(f"{veth}_latency_ratio", round(r["us_ratio"], 2), "×",
               "median round trip, busy polling / not (the median of each round's ratio)")


def run(lab) -> None:
    p = lab.params
    count, busy, rounds = int(p["round_trips"]), int(p["busy_poll_us"]), int(p["rounds"])
    lab.figure("busy_read_in_netns", int(lab.has_sysctl("client", "net.core.busy_read")), "",
               "1 if net.core.busy_read exists inside a namespace (it is machine-wide: the lab sets SO_BUSY_POLL "
               "per socket and never touches the root's)")
    binary = cbuild.build(HERE / "rr.c")
    where = cpus()
    lab.step(f"{rounds} × {count} round trips without and with SO_BUSY_POLL = {busy} µs, veth as created; "
             f"client on CPU {where[0]}, server on CPU {where[1]}")
    results = {"created": interleaved(lab, binary, count, busy, rounds, where)}
    record(lab, "created", results["created"], busy)
    if shutil.which("ethtool") is None:
        for name in ("napi_napi_id", "napi_sleeps_ratio", "napi_busy_cpu_share"):
            lab.skip_figure(name, "ethtool is not installed (make install installs it)")
    else:
        lab.step("the same with the veth's NAPI context on: ethtool -K eth0 gro on tso off, in both nodes")
        offloads(lab, NAPI_ON)
        try:
            results["napi"] = interleaved(lab, binary, count, busy, rounds, where)
        finally:
            offloads(lab, NAPI_OFF)
        record(lab, "napi", results["napi"], busy)
        if where[0] == where[1]:  # a spinning client on the server's only CPU keeps the server from answering
            for name in ("napi_sleeps_ratio", "napi_busy_cpu_share"):
                lab.skip_figure(name, "this process may use one CPU only: busy polling needs a second for the server")
    labels = {"created": "veth as created", "napi": "veth, NAPI on"}
    for key, title, unit in (("us", "Median round trip", "µs"), ("sleeps", "Client sleeps per round trip", "sleeps"),
                             ("cpu_us", "Client CPU per round trip", "µs")):
        lab.bars(key.replace("_", "-"), f"{title}, without and with SO_BUSY_POLL = {busy} µs", unit,
                 {mode: {labels[v]: round(r[m][key], 3) for v, r in results.items()}
                  for mode, m in (("without", "plain"), ("busy polling", "busy"))})
