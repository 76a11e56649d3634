"""The environment block every result carries: what the figures depend on
besides the path (kernel, CPU, MTU, offloads, qdisc, conntrack, nftables, tools)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence

from netlab import nodeexec
from netlab.backend import tracefs
from netlab.bench.paths import reference, tracepoints
from netlab.bench.paths.launch import Ends
from netlab.resolve import Topology

OFFLOADS = ("rx-checksumming", "tx-checksumming", "scatter-gather", "tcp-segmentation-offload",
            "generic-segmentation-offload", "generic-receive-offload", "large-receive-offload")


def _run(lab: str | None, node: str | None, argv: Sequence[str]) -> str | None:
    """stdout of a read-only command in a node (or here), None if it fails."""
    try:
        if lab and node:
            res = nodeexec.run(lab, node, argv, capture=True, timeout=10, kind="netns")  # host tools, node's netns
        else:
            res = subprocess.run(list(argv), capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.decode(errors="replace") if res.returncode == 0 else None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def parse_offloads(text: str) -> dict[str, str]:
    """The main offloads from ``ethtool -k`` output ("on", "off", "off [fixed]")."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.strip().partition(":")
        if sep and key in OFFLOADS:
            out[key] = value.strip()
    return out


def egress(lab: str | None, node: str | None, address: str) -> dict:
    """The device a node sends to ``address`` by, with its MTU, qdisc and offloads."""
    route = _run(lab, node, ["ip", "-j", "route", "get", address])
    try:
        dev = json.loads(route)[0]["dev"]
    except (TypeError, ValueError, LookupError):
        return {"error": f"no route to {address}"}
    link = _run(lab, node, ["ip", "-j", "link", "show", "dev", dev])
    info = json.loads(link)[0] if link else {}
    offloads = _run(lab, node, ["ethtool", "-k", dev])
    return {"dev": dev, "mtu": info.get("mtu"), "qdisc": info.get("qdisc"),
            "offloads": parse_offloads(offloads) if offloads is not None else "ethtool failed or missing"}


def node_counters(lab: str | None, node: str | None) -> dict:
    """Conntrack entries and nftables rules in a node's namespace."""
    ct = _run(lab, node, ["conntrack", "-C"])
    ruleset = _run(lab, node, ["nft", "-j", "list", "ruleset"])
    rules = None
    if ruleset:
        rules = sum(1 for o in json.loads(ruleset).get("nftables", []) if "rule" in o)
    return {"conntrack": int(ct.split()[0]) if ct and ct.split() else None, "nft_rules": rules}


def tools() -> dict:
    """Versions of the tools, whether tracepoints can be counted, and how tracefs was found."""
    perf = tracepoints.Counter.open("net:netif_rx", [os.getpid()])
    if isinstance(perf, tracepoints.Counter):
        perf.close()
        tracepoint = "net:netif_rx and NET_RX softirq_entry counted per engine process (perf_event_open)"
    else:
        tracepoint = f"unavailable: {perf}"
    return {"python": sys.version.split()[0], "sockperf": reference.version("sockperf"),
            "iperf3": reference.version("iperf3"), "tracepoint": tracepoint,
            "tracefs": tracefs.lookup(("net:netif_rx",)).how}


def lab_counters(topos: Sequence[Topology]) -> dict:
    """Conntrack entries and nftables rules of every node of the labs, as ``lab/node``."""
    return {f"{t.name}/{n}": node_counters(t.name, n) for t in topos for n in t.nodes}


def collect(paths: Mapping[str, Ends], topos: Sequence[Topology] = ()) -> dict:
    """The block for ``paths`` (each with its client's egress device) in the labs ``topos``."""
    return {
        "kernel": platform.release(),
        "kernel_version": platform.version(),
        "machine": platform.machine(),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "tools": tools(),
        "paths": {name: egress(e.lab, e.client, e.address) for name, e in paths.items()},
        "nodes": lab_counters(topos),
    }
