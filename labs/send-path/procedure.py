"""§4.2–4.4 and §4.4.6: what one send() costs by size, where GSO/TSO split the
segments, how rarely NET_TX runs, and the qdisc on the way out."""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import subprocess
import time
from dataclasses import dataclass

from netlab.backend import procfs
from netlab import cbuild

CHUNK = 65536  # bytes per send() of the bulk transfers
OFFLOADS = {"TSO": ("tso", "on", "gso", "on"), "GSO only": ("tso", "off", "gso", "on"),
            "neither": ("tso", "off", "gso", "off")}
ONE_CPU = "this machine lets the lab use one CPU: the receiving side cannot be moved off the sender's"


@dataclass(frozen=True)
class Sender:
    """The C sender in h1, pinned to ``cpu``, against the sink in h2."""

    lab: object
    exe: str
    cpu: int

    def send(self, size: int, seconds: float, nodelay: int = 1, count: int = 10**9, gap_us: int = 0) -> dict:
        lab = self.lab
        argv = [self.exe, "send", lab.addr("h2"), str(lab.params["port"]), str(size), str(count), str(seconds),
                str(self.cpu), str(nodelay), str(gap_us)]
        out = lab.run("h1", argv, capture=True, timeout=seconds + 120, check=True).stdout.decode()
        return json.loads(out.splitlines()[-1])

    def counted(self, size: int, seconds: float, nodelay: int = 1, count: int = 10**9,
                gap_us: int = 0) -> tuple[dict, dict]:
        """One run and what it moved: TCP segments, IP packets and h1's eth0 (nstat, /proc/net/dev)."""
        before = layers(self.lab)
        res = self.send(size, seconds, nodelay, count, gap_us)
        after = layers(self.lab)
        return res, {k: after[k] - before[k] for k in after}


def layers(lab) -> dict[str, int]:
    """Packets counted at each layer on the way out of h1 and into h2, each namespace's own."""
    snmp, tx, rx = lab.nstat("h1"), lab.netdev("h1")["eth0"], lab.netdev("h2")["eth0"]
    return {"TCP segments": snmp["TcpOutSegs"], "IP packets": snmp["IpOutRequests"],
            "eth0 tx (h1)": tx["tx_packets"], "eth0 rx (h2)": rx["rx_packets"]}


def python_send(addr: tuple[str, int], size: int, seconds: float, cpu: int) -> dict:
    """The same loop in Python (runs inside h1): CPU time per send() call."""
    os.sched_setaffinity(0, {cpu})
    sock = socket.create_connection(addr)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    payload, send, calls = b"z" * size, sock.send, 0
    t0, end = time.process_time_ns(), time.monotonic() + seconds
    while time.monotonic() < end:
        for _ in range(16):
            send(payload)
        calls += 16
    took = time.process_time_ns() - t0
    sock.shutdown(socket.SHUT_WR)
    while sock.recv(65536):  # the sink read everything: the transfer is over
        pass
    sock.close()
    return {"calls": calls, "cpu_ns": took}


def spread(values: list[float]) -> tuple[float, str]:
    """The median, and a note with the rounds' range."""
    med = statistics.median(values)
    return med, f"median of {len(values)} rounds ({min(values):.3g}–{max(values):.3g})"


def cost_by_size(lab, sender: Sender) -> dict[int, float]:
    """send() of each size with TCP_NODELAY and autocorking off: every call goes down to the device."""
    p = lab.params
    sizes, seconds = [int(s) for s in p["sizes"]], float(p["seconds"])
    lab.sysctl("h1", "net.ipv4.tcp_autocorking", 0)
    lab.step(f"send() cost by size ({', '.join(map(str, sizes))} B), TCP_NODELAY, tcp_autocorking = 0 in h1")
    c = {s: [] for s in sizes}
    for _ in range(int(p["rounds"])):
        for size in sizes:
            res = sender.send(size, seconds)
            c[size].append(res["cpu_ns"] / res["calls"] / 1000)
    lab.sysctl("h1", "net.ipv4.tcp_autocorking", 1)
    cost = record(lab, c, "send_us", "C, TCP_NODELAY, autocorking off")
    small, large = sizes[0], 65536
    lab.figure("per_byte_small_vs_64k", round(cost[small] / small / (cost[large] / large), 1), "×",
               f"CPU per byte at {small} B / at 64 KiB")
    lab.figure("growth_1m_vs_256k", round(cost[1 << 20] / cost[1 << 18], 2), "×",
               "CPU per send(): 1 MiB / 256 KiB (4 if the cost is all per byte)")
    return cost


def one_segment_each(lab, sender: Sender, rps_cpu: int | None) -> None:
    """Small sends spaced out with RPS off, so that each packet is received (and freed)
    inside its own send() and nothing is queued when the next one starts."""
    size, count, gap = int(lab.params["sizes"][0]), int(lab.params["paced_sends"]), 200
    lab.step(f"{count} sends of {size} B, {gap} µs apart, TCP_NODELAY, RPS off")
    lab.rps("h2", "eth0", [])
    try:
        res, moved = sender.counted(size, 60, count=count, gap_us=gap)
    finally:
        if rps_cpu is not None:
            lab.rps("h2", "eth0", [rps_cpu])
    lab.figure("segs_per_send_small", round(moved["TCP segments"] / res["calls"], 3), "segments",
               f"TcpOutSegs per {size} B send(), {gap} µs apart (the handshake's and FIN's segments included)")


def record(lab, samples: dict[int, list[float]], prefix: str, what: str) -> dict[int, float]:
    """Record the median µs per call of each size as figure ``<prefix>_<size>``; returns the medians."""
    out = {}
    for size, values in samples.items():
        out[size], note = spread(values)
        lab.figure(f"{prefix}_{size}", round(out[size], 2), "µs", f"{what}, CPU per send() of {size} B, {note}")
    return out


def flood(lab, sender: Sender, size: int, seconds: float, autocorking: int) -> tuple[float, int]:
    """(TCP segments per send(), writes autocorking held back) of a flood of small sends."""
    lab.sysctl("h1", "net.ipv4.tcp_autocorking", autocorking)
    try:
        with lab.counting("h1") as counters:
            res, moved = sender.counted(size, seconds)
    finally:
        lab.sysctl("h1", "net.ipv4.tcp_autocorking", 1)
    return moved["TCP segments"] / res["calls"], counters.get("TcpExtTCPAutoCorking", 0)


def default_socket(lab, sender: Sender) -> dict[str, dict[int, float]]:
    """A flood of small writes with and without autocorking, and C against Python with this
    kernel's defaults (tcp_autocorking = 1), in turn each round."""
    p = lab.params
    sizes, seconds, addr = [int(s) for s in p["python_sizes"]], float(p["seconds"]), (lab.addr("h2"), int(p["port"]))
    lab.step(f"C and Python in turn, {', '.join(map(str, sizes))} B, TCP_NODELAY, tcp_autocorking = 1 "
             f"(and {sizes[0]} B with it off)")
    c, py, corked, uncorked = {s: [] for s in sizes}, {s: [] for s in sizes}, [], []
    events = {"autocork_events": 0, "nocork_events": 0}
    for _ in range(int(p["rounds"])):
        for size in sizes:
            res = sender.send(size, seconds)
            c[size].append(res["cpu_ns"] / res["calls"] / 1000)
            res = lab.call("h1", python_send, addr, size, seconds, sender.cpu, timeout=seconds + 60)
            py[size].append(res["cpu_ns"] / res["calls"] / 1000)
        for name, autocorking, segs in (("autocork_events", 1, corked), ("nocork_events", 0, uncorked)):
            per_send, held = flood(lab, sender, sizes[0], seconds, autocorking)
            segs.append(per_send)
            events[name] += held
    c_cost = record(lab, c, "default_send_us", "C, default socket")
    py_cost = record(lab, py, "python_send_us", "Python, default socket")
    for size in sizes:
        lab.figure(f"python_vs_c_{size}", round(py_cost[size] / c_cost[size], 2), "×", "Python / C, CPU per call")
    for name, values, how in (("autocork_segs_per_send", corked, "tcp_autocorking = 1"),
                              ("nocork_segs_per_send", uncorked, "tcp_autocorking = 0")):
        med, note = spread(values)
        lab.figure(name, round(med, 3), "segments", f"TcpOutSegs per {sizes[0]} B send() in a flood, TCP_NODELAY, "
                   f"{how}, {note}")
    for name, n in events.items():
        lab.figure(name, n, "writes held", f"TcpExtTCPAutoCorking in h1 over the {sizes[0]} B floods with "
                   f"tcp_autocorking = {int(name.startswith('autocork'))}")
    return {"C, default socket": c_cost, "Python, default socket": py_cost}


def offloads(lab, sender: Sender, sink_pid: int) -> None:
    """The same bulk transfer with each offload setting, its CPU counted whole: the sender,
    the sink and the CPU's ksoftirqd, all on the sender's CPU. On a veth the receive path
    runs in whichever end transmitted (the sink's ACKs push the sender's queued data from
    the sink's context), and that split moves from run to run: the sender's CPU alone holds
    a varying part of both stacks, and on two CPUs part of it runs where no process is
    charged (softirqs on an idle CPU)."""
    total = int(lab.params["bulk_mib"]) << 20
    cpu, whole, moved = {name: [] for name in OFFLOADS}, {name: [] for name in OFFLOADS}, {}
    lab.step(f"{total >> 20} MiB in 64 KiB send()s with `ethtool -K eth0` in h1, RPS off, the sink on the sender's CPU: "
             + "; ".join(f"{name}: {' '.join(flags)}" for name, flags in OFFLOADS.items()))
    for _ in range(int(lab.params["rounds"])):
        for name, flags in OFFLOADS.items():
            lab.run("h1", ["ethtool", "-K", "eth0", *flags], capture=True, timeout=30, check=True)
            others = procfs.run_ns(sink_pid) + procfs.ksoftirqd_ns({sender.cpu})
            res, moved[name] = sender.counted(CHUNK, 120, nodelay=0, count=total // CHUNK)
            others = procfs.run_ns(sink_pid) + procfs.ksoftirqd_ns({sender.cpu}) - others
            gib = res["bytes"] / (1 << 30)
            cpu[name].append(res["cpu_ns"] / 1e9 / gib)
            whole[name].append((res["cpu_ns"] + others) / 1e9 / gib)
    lab.run("h1", ["ethtool", "-K", "eth0", *OFFLOADS["TSO"]], capture=True, timeout=30, check=True)
    for name, layer in moved.items():
        key, segs = name.split()[0].lower(), layer["TCP segments"]
        lab.figure(f"{key}_segs_per_dev_packet", round(segs / max(layer["eth0 tx (h1)"], 1), 1), "segments",
                   f"TcpOutSegs / h1's eth0 tx_packets, {name}")
        lab.figure(f"{key}_dev_per_seg", round(layer["eth0 tx (h1)"] / segs, 3), "", "eth0 tx_packets / TcpOutSegs")
        lab.figure(f"{key}_ip_per_seg", round(layer["IP packets"] / segs, 3), "", "IpOutRequests / TcpOutSegs")
        med, note = spread(cpu[name])
        lab.figure(f"{key}_cpu_s_per_gib", round(med, 3), "s/GiB",
                   f"sender's CPU per GiB sent (with the part of the receive softirq it ran), {note}")
        med, note = spread(whole[name])
        lab.figure(f"{key}_whole_cpu_s_per_gib", round(med, 3), "s/GiB",
                   f"the whole transfer's CPU per GiB (sender + sink + ksoftirqd), {note}")
    ratios = [n / t for n, t in zip(whole["neither"], whole["TSO"])]
    med, note = spread(ratios)
    lab.figure("no_offload_cpu_vs_tso", round(med, 2), "×",
               f"the whole transfer's CPU per GiB, neither / TSO, round by round: {note}")
    lab.bars("segmentation", "Packets per MiB sent, counted at each layer", "packets per MiB",
             {name: {k: n / total * (1 << 20) for k, n in layer.items()} for name, layer in moved.items()}, log="y")


def qdisc_stats(lab) -> dict:
    out = lab.run("h1", ["tc", "-s", "-j", "qdisc", "show", "dev", "eth0"], capture=True, timeout=30, check=True)
    return next(q for q in json.loads(out.stdout) if q.get("root"))


def set_qdisc(lab, spec: list[str] | None) -> None:
    if spec:
        lab.run("h1", ["tc", "qdisc", "replace", "dev", "eth0", "root", *spec], capture=True, timeout=30, check=True)
    else:  # back to the veth's default: noqueue, no qdisc at all
        lab.run("h1", ["tc", "qdisc", "del", "dev", "eth0", "root"], capture=True, timeout=30)


def through_qdisc(lab, sender: Sender, spec: list[str] | None) -> tuple[dict, dict, dict]:
    """A bulk send through the qdisc: (softirq runs, NET_TX and NET_RX over all CPUs; packets
    per layer; the qdisc's counters), the least NET_TX of the rounds (other activity adds)."""
    total, best = int(lab.params["qdisc_mib"]) << 20, None
    for _ in range(int(lab.params["rounds"])):
        irq0, q0 = lab.softirqs_per_cpu(), qdisc_stats(lab)
        _, moved = sender.counted(CHUNK, 120, nodelay=0, count=total // CHUNK)
        irq1, q1 = lab.softirqs_per_cpu(), qdisc_stats(lab)
        runs = {k: sum(irq1[k].values()) - sum(irq0[k].values()) for k in ("NET_TX", "NET_RX")}
        stats = {k: q1[k] - q0[k] for k in ("packets", "overlimits", "requeues", "drops")}
        if best is None or runs["NET_TX"] < best[0]["NET_TX"]:
            best = (runs, moved, {"kind": q1["kind"], **stats})
    return best


def softirqs(lab, sender: Sender) -> None:
    rate = str(lab.params["tbf_rate"])
    qdiscs = {"noqueue": None, "pfifo": ["pfifo", "limit", "1000"],
              "tbf": ["tbf", "rate", rate, "burst", "64kb", "latency", "50ms"]}
    bars = {}
    for name, spec in qdiscs.items():
        lab.step(f"{lab.params['qdisc_mib']} MiB through {' '.join(spec) if spec else 'noqueue (the veth default)'}")
        try:
            set_qdisc(lab, spec)
        except subprocess.CalledProcessError as exc:  # this kernel lacks the qdisc
            why = f"tc qdisc {spec[0]}: {exc.stderr.decode().strip()}"
            for figure in ("net_tx_per_seg", "net_tx_per_net_rx", "qdisc_pkts_per_seg", "overlimits"):
                lab.skip_figure(f"{name}_{figure}", why)
            continue
        runs, moved, stats = through_qdisc(lab, sender, spec)
        segs = max(moved["TCP segments"], 1)
        lab.figure(f"{name}_net_tx_per_seg", round(runs["NET_TX"] / segs, 4), "softirqs/segment",
                   f"NET_TX runs (all CPUs, machine-wide) per TCP segment sent ({segs:,}; "
                   f"{moved['eth0 tx (h1)']:,} device packets)")
        lab.figure(f"{name}_net_tx_per_net_rx", round(runs["NET_TX"] / max(runs["NET_RX"], 1), 4), "",
                   f"NET_TX {runs['NET_TX']:,} / NET_RX {runs['NET_RX']:,} (the receiving side's included)")
        if spec:
            lab.figure(f"{name}_qdisc_pkts_per_seg", round(stats["packets"] / segs, 3), "",
                       f"{stats['kind']} Sent {stats['packets']:,} pkt / TcpOutSegs {segs:,}")
            lab.figure(f"{name}_overlimits", stats["overlimits"], "", f"{stats['kind']}: overlimits "
                       f"{stats['overlimits']:,}, requeues {stats['requeues']:,}, drops {stats['drops']:,}")
        bars[name] = {"NET_TX": runs["NET_TX"] / segs * 1000, "NET_RX": runs["NET_RX"] / segs * 1000}
    set_qdisc(lab, None)
    lab.bars("softirqs", "Softirq runs per 1,000 TCP segments sent, by qdisc (machine-wide)",
             "softirq runs per 1,000 segments", bars)


def start_sink(lab, exe: str, cpu: int) -> subprocess.Popen:
    sink = lab.popen("h2", [exe, "sink", str(lab.params["port"]), str(cpu)], stdout=subprocess.PIPE, text=True)
    if sink.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the sink in h2 did not start (exit code {sink.wait()})")
    return sink


def restart_sink(lab, exe: str, sink: subprocess.Popen, cpu: int) -> subprocess.Popen:
    sink.kill()
    sink.wait()
    return start_sink(lab, exe, cpu)


def run(lab) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    a, b = allowed[0], allowed[-1]
    exe = str(cbuild.build(lab.spec.folder / "sendcost.c"))
    sender = Sender(lab, exe, a)
    if a != b:  # the receiving side's softirqs and the sink on the other CPU: CPU a only sends
        lab.rps("h2", "eth0", [b])
    sink = start_sink(lab, exe, b)
    try:
        lines = {"C, TCP_NODELAY, autocorking off": cost_by_size(lab, sender)}
        one_segment_each(lab, sender, b if a != b else None)
        lines.update(default_socket(lab, sender))
        lab.chart("send-cost", "CPU per send() by size (TCP over a veth)", "bytes per send()", "CPU µs per call",
                  {label: sorted(cost.items()) for label, cost in lines.items()}, log="xy")
        if a == b:  # nothing is still in flight when send() returns: autocorking has nothing to wait for
            lab.skip_figure("autocork_events", ONE_CPU)
        if shutil.which("ethtool"):
            lab.rps("h2", "eth0", [])
            sink = restart_sink(lab, exe, sink, a)
            offloads(lab, sender, sink.pid)
            sink = restart_sink(lab, exe, sink, b)
            if a != b:
                lab.rps("h2", "eth0", [b])
        else:
            for key in ("tso_segs_per_dev_packet", "gso_dev_per_seg", "gso_ip_per_seg", "neither_ip_per_seg",
                        "no_offload_cpu_vs_tso"):
                lab.skip_figure(key, "ethtool is not installed (make install installs it)")
        softirqs(lab, sender)
    finally:
        sink.kill()
        sink.wait()
