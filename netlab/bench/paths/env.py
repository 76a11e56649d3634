"""The environment block every result carries: what the figures depend on
besides the path (kernel, CPU, MTU, offloads, qdisc, conntrack, nftables, tools)."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping, Sequence

from netlab import names
from netlab.backend import netns, nft, procfs, tracefs
from netlab.bench.paths import reference, tracepoints
from netlab.bench.paths.launch import Ends
from netlab.errors import NetlabError
from netlab.node import Node
from netlab.resolve import Topology

OFFLOADS = ("rx-checksumming", "tx-checksumming", "scatter-gather", "tcp-segmentation-offload",
            "generic-segmentation-offload", "generic-receive-offload", "large-receive-offload")


def _run(lab: str | None, node: str | None, argv: Sequence[str]) -> str | None:
    """stdout of a read-only command in a node (or here), None if it fails."""
    try:
        if lab and node:
            res = Node(lab, node, kind="netns").run(argv, capture=True, timeout=10)  # host tools, node's netns
        else:
            res = subprocess.run(list(argv), capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.decode(errors="replace") if res.returncode == 0 else None


def cpu_model() -> str:
    return procfs.cpu_model() or platform.processor() or "unknown"


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
    """Conntrack entries and nftables rules in a node's namespace (or here)."""
    ns = names.netns(lab, node) if lab and node else None
    try:
        ct: int | None = int(procfs.sysctl_get(ns, "net.netfilter.nf_conntrack_count"))
    except (OSError, ValueError):  # no conntrack module loaded: nothing is tracked
        ct = None
    try:
        with netns.entered(ns):
            rules: int | None = sum(1 for o in nft.ruleset() if "rule" in o)
    except (OSError, RuntimeError, NetlabError):
        rules = None
    return {"conntrack": ct, "nft_rules": rules}


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
