"""§2.2 and §1.1.6: where receiving costs CPU. NET_RX softirqs per packet and on which
CPU, RPS moving that work to another CPU, the backlog overflowing, and no hard IRQ."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from dataclasses import dataclass

from netlab.backend import procfs
from netlab import cbuild
from netlab.labs.context import LabSkipped

SNDBUF = 64 << 20  # the burst's datagrams all fit in flight (a veth charges them to the sender until freed)
SIZE = 64  # bytes of UDP payload: the cost per packet, not per byte
ONE_CPU = "this machine lets the lab use one CPU: RPS has no other CPU to move the receive work to"
RPS_FIGURES = ("rps_rx_share", "rps_processed_per_packet", "rps_ipis_per_packet", "drops_small_burst",
               "drops_big_burst", "softnet_dropped_rps_cpu")
DROP_FIGURES = ("drops_small_burst", "drops_big_burst", "softnet_dropped_rps_cpu", "drops_same_cpu")


@dataclass(frozen=True)
class Snapshot:
    """The machine-wide per-CPU counters, and the receiving veth's own (h2's eth0)."""

    softirqs: dict
    softnet: dict
    irqs: dict
    dev: dict

    @classmethod
    def take(cls, lab) -> "Snapshot":
        return cls(lab.softirqs_per_cpu(), lab.softnet(), lab.interrupts(), lab.netdev("h2")["eth0"])


def moved(before: Snapshot, after: Snapshot, cpu: int) -> dict[str, int]:
    """What one CPU's counters did between two snapshots."""
    net0, net1 = before.softnet[cpu], after.softnet[cpu]
    return {"net_rx": after.softirqs["NET_RX"][cpu] - before.softirqs["NET_RX"][cpu],
            "processed": net1.processed - net0.processed, "dropped": net1.dropped - net0.dropped,
            "received_rps": net1.received_rps - net0.received_rps,
            "cal": after.irqs["CAL"].counts[cpu] - before.irqs["CAL"].counts[cpu] if "CAL" in after.irqs else 0}


def device_irqs(before: Snapshot, after: Snapshot) -> tuple[int, list[str]]:
    """Hard interrupts every device raised meanwhile, and which lines moved."""
    lines = [(name, irq.total - before.irqs[name].total) for name, irq in after.irqs.items()
             if irq.device and name in before.irqs]
    return sum(n for _, n in lines), [f"{name} {after.irqs[name].desc.split()[-1]}: {n}" for name, n in lines if n]


def send(lab, exe, count: int, cpu: int, sndbuf: int = 0) -> dict:
    port = int(lab.params["port"])
    out = lab.run("h1", [str(exe), "send", lab.addr("h2"), str(port), str(count), str(SIZE), str(cpu), str(sndbuf)],
                  capture=True, timeout=120, check=True).stdout.decode()
    return json.loads(out.splitlines()[-1])


def received_where(lab, exe, count: int, sender_cpu: int, receiver_cpu: int) -> tuple[dict, dict, Snapshot, Snapshot]:
    """A burst from h1 (pinned to ``sender_cpu``) to a socket in h2 read on ``receiver_cpu``:
    (sender's report, receiver's report, counters before, after)."""
    port = str(lab.params["port"])
    receiver = lab.popen("h2", [str(exe), "recv", port, lab.addr("h1"), str(receiver_cpu), "60"],
                         stdout=subprocess.PIPE, text=True)
    if receiver.stdout.readline().strip() != "ready":
        raise RuntimeError(f"the receiver in h2 did not start (exit code {receiver.wait()})")
    before = Snapshot.take(lab)
    sent = send(lab, exe, count, sender_cpu)
    after = Snapshot.take(lab)
    got = json.loads(receiver.communicate(timeout=60)[0].splitlines()[-1])
    return sent, got, before, after


def share(got: dict, cpu: int) -> float:
    by_cpu = got["by_cpu"]
    return round(by_cpu[cpu] / got["received"], 4) if got["received"] and cpu < len(by_cpu) else 0.0


def without_rps(lab, exe, count: int, a: int, b: int) -> dict[str, dict[str, int]]:
    lab.step(f"{count} datagrams from h1 on CPU{a} to a socket in h2 read on CPU{b}, no RPS")
    sent, got, before, after = received_where(lab, exe, count, a, b)
    mine, other = moved(before, after, a), moved(before, after, b)
    lab.figure("own_rx_share", share(got, a), "", f"share of the {got['received']:,} datagrams received that "
               f"the kernel handled on the sender's CPU{a} (SO_INCOMING_CPU)")
    lab.figure("own_net_rx_per_packet", round(mine["net_rx"] / count, 3), "softirqs/packet",
               f"NET_RX runs on CPU{a} (/proc/softirqs, machine-wide: other activity adds)")
    lab.figure("own_processed_per_packet", round(mine["processed"] / count, 3), "packets/packet",
               f"softnet_stat processed on CPU{a}")
    irqs, lines = device_irqs(before, after)
    lab.figure("device_irqs_per_packet", round(irqs / count, 5), "IRQs/packet",
               "device lines of /proc/interrupts, all CPUs: " + ("; ".join(lines) or "none moved"))
    lab.figure("c_send_us_per_packet", round(sent["cpu_ns"] / count / 1000, 2), "µs",
               "the C sender's CPU time per datagram (sendmmsg, 64 at a time; includes the receive softirq)")
    return {"no RPS": {f"NET_RX CPU{a}": mine["net_rx"] / count, f"NET_RX CPU{b}": other["net_rx"] / count,
                       f"packets CPU{a}": mine["processed"] / count, f"packets CPU{b}": other["processed"] / count}}


def with_rps(lab, exe, count: int, a: int, b: int) -> dict[str, dict[str, int]]:
    lab.step(f"rps_cpus of h2's eth0 = CPU{b}; the same burst")
    lab.rps("h2", "eth0", [b])
    try:
        sent, got, before, after = received_where(lab, exe, count, a, b)
    finally:
        lab.rps("h2", "eth0", [])
    mine, target = moved(before, after, a), moved(before, after, b)
    lab.figure("rps_rx_share", share(got, b), "", f"share handled on the RPS CPU{b} (SO_INCOMING_CPU)")
    lab.figure("rps_processed_per_packet", round(target["processed"] / count, 3), "packets/packet",
               f"softnet_stat processed on CPU{b}")
    lab.figure("rps_ipis_per_packet", round(target["received_rps"] / count, 4), "IPIs/packet",
               f"softnet_stat received_rps on CPU{b}: times CPU{a} woke it with an IPI")
    lab.figure("rps_net_rx_per_packet", round(target["net_rx"] / count, 3), "softirqs/packet",
               f"NET_RX runs on CPU{b}: each drains the backlog in batches (machine-wide)")
    lab.figure("rps_sender_net_rx_per_packet", round(mine["net_rx"] / count, 3), "softirqs/packet",
               f"NET_RX runs on the sender's CPU{a}: raised to send the IPIs")
    lab.figure("rps_cal_per_packet", round(target["cal"] / count, 4), "IPIs/packet",
               f"CAL (function call interrupts) on CPU{b}, machine-wide")
    return {f"rps_cpus = CPU{b}": {f"NET_RX CPU{a}": mine["net_rx"] / count,
                                   f"NET_RX CPU{b}": target["net_rx"] / count,
                                   f"packets CPU{a}": mine["processed"] / count,
                                   f"packets CPU{b}": target["processed"] / count}}


def slow_receive_path(lab, rules: int) -> None:
    """``rules`` firewall rules h2 checks each packet against before dropping it: a
    receive path slower than the sender, so the backlog fills faster than it drains."""
    port = int(lab.params["port"])
    lab.nft("h2", [f"prerouting ip saddr 203.0.113.{i % 254 + 1} udp dport {i % 1000 + 1} counter"
                   for i in range(rules)] + [f"prerouting udp dport {port} drop"])


def burst_drops(lab, exe, count: int, cpu: int, rps_cpu: int | None) -> tuple[int, int]:
    """(packets h2's veth refused, softnet_stat drops on the RPS CPU) for one burst."""
    before = Snapshot.take(lab)
    send(lab, exe, count, cpu, SNDBUF)
    after = Snapshot.take(lab)
    time.sleep(0.2)  # the backlog drains before the next burst
    softnet = moved(before, after, rps_cpu)["dropped"] if rps_cpu is not None else 0
    return after.dev["rx_dropped"] - before.dev["rx_dropped"], softnet


def overflow(lab, exe, a: int, b: int) -> None:
    limit = int(procfs.sysctl_get(None, "net.core.netdev_max_backlog"))
    per_netns = lab.has_sysctl("h2", "net.core.netdev_max_backlog")
    lab.figure("netdev_max_backlog", limit, "packets", "machine-wide (not in a namespace's /proc/sys/net/core "
               "on this kernel: the lab reads it and never changes it)" if not per_netns else "per namespace")
    bursts = sorted({max(int(float(x) * limit), 1) for x in lab.params["bursts"]})
    lab.step(f"{lab.params['slow_rules']} firewall rules in h2 (a slow receive path), rps_cpus = CPU{b}, "
             f"bursts of {', '.join(map(str, bursts))} datagrams")
    slow_receive_path(lab, int(lab.params["slow_rules"]))
    lab.rps("h2", "eth0", [b])
    points, veth_total, softnet_total = [], 0, 0
    try:
        for n in bursts:
            dropped, softnet = burst_drops(lab, exe, n, a, b)
            points.append((n, dropped))
            veth_total, softnet_total = veth_total + dropped, softnet_total + softnet
    finally:
        lab.rps("h2", "eth0", [])
    small = [d for n, d in points if n <= limit]
    lab.figure("drops_small_burst", max(small) if small else 0, "packets",
               f"bursts up to netdev_max_backlog: {', '.join(f'{n}: {d}' for n, d in points if n <= limit)}")
    lab.figure("drops_big_burst", points[-1][1], "packets", f"a burst of {points[-1][0]:,}")
    lab.figure("veth_dropped_total", veth_total, "packets", "h2's eth0 rx_dropped over all bursts")
    lab.figure("softnet_dropped_rps_cpu", softnet_total, "packets", f"softnet_stat dropped on CPU{b}")
    lab.step(f"the largest burst again without RPS ({points[-1][0]:,} datagrams)")
    lab.figure("drops_same_cpu", burst_drops(lab, exe, points[-1][0], a, None)[0], "packets",
               "h2's eth0 rx_dropped: the sender's CPU drains its backlog after every packet")
    lab.chart("backlog-drops", f"Backlog overflow on CPU{b} (netdev_max_backlog = {limit})",
              "datagrams in the burst", "datagrams dropped",
              {"dropped (veth rx_dropped)": points,
               "burst − netdev_max_backlog (if nothing drained meanwhile)":
                   [(n, max(n - limit, 0)) for n, _ in points]})


def python_send_us(addr: tuple[str, int], count: int, cpu: int) -> float:
    """CPU µs per send() of one 64-byte datagram on a connected socket from a Python
    loop (runs inside h1; nothing listens on that port, h2 answers with ICMP errors)."""
    os.sched_setaffinity(0, {cpu})
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.connect(addr)
    payload, send, t0 = b"x" * SIZE, sock.send, time.process_time_ns()
    for _ in range(count):
        try:
            send(payload)
        except ConnectionRefusedError:  # an ICMP port unreachable came back
            pass
    took = time.process_time_ns() - t0
    sock.close()
    return took / count / 1000


def run(lab) -> None:
    allowed = sorted(os.sched_getaffinity(0))
    a, b = allowed[0], allowed[-1]
    exe = cbuild.build(lab.spec.folder / "udpburst.c")
    count = int(lab.params["packets"])
    bars = without_rps(lab, exe, count, a, b)
    py = lab.call("h1", python_send_us, (lab.addr("h2"), int(lab.params["port"]) + 2), count // 4, a)
    lab.figure("python_send_us_per_packet", round(py, 2), "µs", "a Python send() loop on a connected socket, "
               "CPU per datagram")
    if len(allowed) < 2:
        for name in {*RPS_FIGURES, *DROP_FIGURES}:
            lab.skip_figure(name, ONE_CPU)
    else:
        bars.update(with_rps(lab, exe, count, a, b))
        try:
            overflow(lab, exe, a, b)
        except LabSkipped as exc:  # no nft: nothing slows the receive path down
            for name in DROP_FIGURES:
                lab.skip_figure(name, str(exc))
    lab.bars("per-cpu", "Receive work per CPU, per datagram sent", "per datagram", bars)
