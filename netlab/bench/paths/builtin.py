"""Run the built-in engine once: a server process, then a client process, each
entering its own node; return what both counted and what the window cost."""

from __future__ import annotations

import functools
import json
import sys

from netlab.bench.paths import cloop, counters, launch
from netlab.bench.paths.launch import EngineError, Ends
from netlab.errors import NetlabError

RR_SIZE = 64  # request and response bytes (sockperf's -m gets the same)
STREAM_BUFFER = 128 * 1024  # bytes per send()/recv(), iperf3's default -l for TCP


def _engine(role: str, ends: Ends, node: str | None, cpu: int | None, *args: str) -> list[str]:
    argv = [sys.executable, "-m", "netlab.bench.paths.engine", role, *args]
    ns = ends.netns_path(node)
    if ns:
        argv += ["--netns", ns]
    if cpu is not None:
        argv += ["--cpu", str(cpu)]
    return argv


def measure(ends: Ends, metric: str, seconds: float, warmup: float = 0.3, tracepoint: bool = True,
            spin: bool = False) -> dict:
    """One measurement of ``metric`` (rr, crr, stream) over ``seconds`` after ``warmup``; with
    ``spin``, both ends of rr and crr busy-wait instead of sleeping (stream always blocks)."""
    size = STREAM_BUFFER if metric == "stream" else RR_SIZE
    common = ["--mode", metric, "--size", str(size)] + (["--spin"] if spin and metric != "stream" else [])
    loop = spin and metric == "rr" and spin_loop()
    if loop:
        common += ["--spin-lib", loop]
    server = client = None
    try:
        # the engine itself enters the node (setns at start), so it is started as a plain process
        argv = _engine("server", ends, ends.server, ends.server_cpu, *common, "--bind", ends.address)
        server = launch.spawn(ends, None, argv)
        ready = launch.read_json_line(server, 15, "built-in server")
        argv = _engine("client", ends, ends.client, ends.client_cpu, *common, "--connect", ends.address,
                       "--port", str(ready["ready"]), "--seconds", str(seconds), "--warmup", str(warmup),
                       "--server-pid", str(server.pid))
        if tracepoint:
            argv.append("--tracepoint")
        client = launch.spawn(ends, None, argv)
        c = _last_json(launch.finish(client, seconds + warmup + 30, "built-in client"))
        s = _last_json(launch.finish(server, 15, "built-in server"))
    finally:
        launch.stop(client)
        launch.stop(server)
    out = summarize(metric, c, s)
    out["wait"] = "spin" if spin and metric != "stream" else "block"
    if spin and metric == "rr":
        out["spin_loop"] = "C" if loop else "Python"
    return out


@functools.cache
def spin_loop() -> str | None:
    """The C spin loop's library, built once; None (Python spins, with a note) where no compiler is."""
    try:
        return cloop.build()
    except NetlabError:
        return None


def _last_json(out: bytes) -> dict:
    lines = [ln for ln in out.decode().splitlines() if ln.strip()]
    if not lines:
        raise EngineError("engine printed nothing")
    return json.loads(lines[-1])


def summarize(metric: str, c: dict, s: dict) -> dict:
    """The figures of one run, with both ends' counts and whether they agree."""
    window = c["window_ns"] / 1e9
    out: dict = {"engine": "builtin", "metric": metric, "seconds": round(window, 3)}
    if metric == "stream":
        out.update(gbps=round(c["measured_bytes"] * 8 / window / 1e9, 3), buffer=c["buffer"], mtu=c["mtu"],
                   sndbuf=c.get("sndbuf"), rcvbuf=s.get("rcvbuf"),
                   client_bytes=c["bytes"], server_bytes=s["bytes"], agree=c["bytes"] == s["bytes"])
        # stream costs are per 64 KiB
        units, event_units = c["measured_bytes"] // 65536, c["event_units"] // 65536
    else:
        total = c["all_transactions"]
        out.update(rate=round(c["transactions"] / window, 1), transactions=c["transactions"],
                   client_transactions=total, server_transactions=s["transactions"], client_bytes=c["bytes"],
                   server_bytes=s["bytes"], agree=total == s["transactions"] and c["bytes"] == s["bytes"])
        units, event_units = c["transactions"], c["event_units"]
        if metric == "rr":
            out.update(latency_us=c["latency_us"], mtu=c["mtu"], size=c["size"])
        else:
            out["close"] = c["linger"]
    out["cost"] = cost(c, units, event_units)
    out["cost"]["unit"] = "64 KiB" if metric == "stream" else "transaction"
    out["interference"] = counters.interference(c["counters"])
    return out


def cost(c: dict, units: int, event_units: int) -> dict:
    """Per unit: CPU µs and context switches of both processes over the measured
    window; NET_RX softirqs and net:netif_rx counted in those processes by
    tracepoint over the event window that follows it (``event_units`` units); the
    machine-wide /proc/softirqs figure of the measured window too, which other
    work on the machine inflates."""
    out = counters.per_transaction(c["counters"], units)
    out["net_rx_softirqs_machine"] = out.pop("net_rx_softirqs")
    for key in ("net_rx_softirqs", "netif_rx"):
        n = c["events"].get(key)
        out[key] = round(n / max(event_units, 1), 3) if n is not None else None
        if n is None:
            out[f"{key}_note"] = c["events_note"].get(key)
    return out
