"""The reference engines, run as subprocesses inside the same nodes and pinned
to the same cores as the built-in one: sockperf ping-pong --tcp for rr, iperf3
-J for stream. Neither measures connection rate: crr has no reference.
"""

from __future__ import annotations

import itertools
import json
import math
import re
import shutil
import subprocess

from netlab.bench.paths import counters, launch
from netlab.bench.paths.builtin import RR_SIZE, STREAM_BUFFER
from netlab.bench.paths.launch import EngineError, Ends

ENGINES = {"sockperf": "rr", "iperf3": "stream"}  # engine → the metric it measures
SOCKPERF_WARMUP = 0.45  # sockperf's own warm-up (400 ms) and cool-down, left out of its "valid" window
_PORTS = itertools.cycle(range(20000, 21000))  # a fresh port each run: no bind race with the last server


def missing(engine: str) -> str | None:
    """None if the tool is installed, else why it cannot run."""
    return None if shutil.which(engine) else f"{engine} is not installed (`make install` installs it)"


def version(tool: str) -> str | None:
    if not shutil.which(tool):
        return None
    try:
        out = subprocess.run([tool, "--version"], capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    text = (out.stdout or out.stderr).strip().splitlines()
    return text[0] if text else None


# sockperf's busy wait: non-blocking sockets polled with a zero epoll timeout (3.7 has no
# --busy-wait for ping-pong; -F recvfrom needs a feed file). iperf3 has no such option.
SOCKPERF_SPIN = ("--nonblocked", "--timeout", "0")


def measure(engine: str, ends: Ends, seconds: float, spin: bool = False) -> dict:
    port = next(_PORTS)
    if engine == "sockperf":
        extra = list(SOCKPERF_SPIN) if spin else []
        server_argv = ["sockperf", "server", "--tcp", "-i", ends.address, "-p", str(port), *extra]
        secs = max(1, math.ceil(seconds + SOCKPERF_WARMUP))
        client_argv = ["sockperf", "ping-pong", "--tcp", "-i", ends.address, "-p", str(port), "-t", str(secs),
                       "-m", str(RR_SIZE), "--mps", "max", "--full-rtt", *extra]
        parse, timeout = parse_sockperf, secs + 20
    elif engine == "iperf3":
        secs = max(1, round(seconds))
        server_argv = ["iperf3", "-s", "-1", "-B", ends.address, "-p", str(port)]
        client_argv = ["iperf3", "-c", ends.address, "-p", str(port), "-t", str(secs), "-O", "1",
                       "-l", str(STREAM_BUFFER), "-J"]
        parse, timeout = parse_iperf3, secs + 21
    else:
        raise ValueError(f"unknown reference engine {engine!r} (engines: {', '.join(ENGINES)})")
    server = client = None
    try:
        server = launch.spawn(ends, ends.server, launch.pinned(server_argv, ends.server_cpu))
        launch.wait_listening(server, port, 10, f"{engine} server")
        before, children = counters.snapshot([server.pid]), counters.children_cpu_ns()
        client = launch.spawn(ends, ends.client, launch.pinned(client_argv, ends.client_cpu))
        out = launch.finish(client, timeout, f"{engine} client")
        # the client is reaped by now: its CPU time comes from this process's rusage of children
        after, client_ns = counters.snapshot([server.pid]), counters.children_cpu_ns() - children
    finally:
        launch.stop(client)
        launch.stop(server)
    result = parse(out.decode(errors="replace"))
    d = counters.delta(before, after)
    d["proc_cpu_ns"] += client_ns
    result["interference"] = counters.interference(d)
    if result.get("total_transactions"):
        result["cost"] = {"cpu_us": round(d["proc_cpu_ns"] / 1e3 / result["total_transactions"], 3),
                          "unit": "transaction"}
    result["wait"] = "spin" if spin and engine == "sockperf" else "block"
    return {"engine": engine, "metric": ENGINES[engine], **result}


_TOTAL = re.compile(r"\[Total Run\] RunTime=[\d.]+ sec;.*?ReceivedMessages=(\d+)")
_VALID = re.compile(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)")
_PCT = re.compile(r"percentile\s+([\d.]+)\s*=\s*([\d.]+)")
_AVG = re.compile(r"avg-(?:latency|rtt)=([\d.]+)")


def parse_sockperf(text: str) -> dict:
    """Transactions/s and round-trip percentiles (µs; --full-rtt) from sockperf's output."""
    m = _VALID.search(text)
    if not m:
        raise EngineError(f"sockperf: no result in its output: {text.strip()[-300:]}")
    runtime, received = float(m.group(1)), int(m.group(3))
    pcts = {float(p): float(v) for p, v in _PCT.findall(text)}
    latency = {"count": received}
    for key, p in (("p50", 50.0), ("p90", 90.0), ("p99", 99.0), ("p99_9", 99.9)):
        latency[key] = pcts.get(p)
    avg = _AVG.search(text)
    latency["mean"] = float(avg.group(1)) if avg else None
    total = _TOTAL.search(text)
    return {"rate": round(received / runtime, 1), "seconds": runtime, "latency_us": latency, "size": RR_SIZE,
            "total_transactions": int(total.group(1)) if total else None}


def parse_iperf3(text: str) -> dict:
    """Gbit/s received, with the buffer size, MSS and CPU use iperf3 reports."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError:
        raise EngineError(f"iperf3: output is not JSON: {text.strip()[-300:]}") from None
    if "error" in data:
        raise EngineError(f"iperf3: {data['error']}")
    end = data["end"]
    received = end["sum_received"]
    start = data.get("start", {})
    return {"gbps": round(received["bits_per_second"] / 1e9, 3), "seconds": round(received["seconds"], 3),
            "buffer": start.get("test_start", {}).get("blksize", STREAM_BUFFER),
            "mss": start.get("tcp_mss_default"), "cpu_percent": end.get("cpu_utilization_percent")}
