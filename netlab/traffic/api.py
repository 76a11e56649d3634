"""Traffic tools run in a lab node: each checks its targets and bounds, then runs
in a process that entered the node's namespace before scapy opened a socket."""

from __future__ import annotations

import os
from typing import Any

from netlab import names, state
from netlab.backend.process import NodeProcess, ProcedureError
from netlab.errors import NetlabError
from netlab.traffic import capture as capture_mod
from netlab.traffic import craft as craft_mod
from netlab.traffic import handshake as handshake_mod
from netlab.traffic import scope, sweep as sweep_mod, synflood as synflood_mod
from netlab.traffic.rst import rst_suppressed


def _node_ns(lab: str, node: str) -> str:
    nodes = state.read(lab).extra.get("kinds", {})
    if node not in nodes:
        raise NetlabError(f"lab {lab} has no node {node!r} (nodes: {', '.join(sorted(nodes))})")
    if nodes[node] == "host":
        raise NetlabError(f"{node} is the real host: traffic tools run in lab namespaces only")
    return names.netns(lab, node)


def in_node(lab: str, node: str, fn, *args: Any, timeout: float, **kwargs: Any) -> Any:
    """``fn(*args)`` in a process inside the node; its result (killed after ``timeout``)."""
    proc = NodeProcess(_node_ns(lab, node), fn, *args, **kwargs)
    try:
        return proc.result(timeout)
    except ProcedureError as exc:  # the child's traceback stays on the exception, not on the terminal
        raise NetlabError(f"{proc.name} in {lab}/{node}: {exc.summary}") from exc
    except TimeoutError as exc:
        raise NetlabError(f"{lab}/{node}: {exc}") from None
    finally:
        proc.stop()


def _flood_holding(to: str, port: int, count: int, seconds: float, hold: float) -> dict:
    import time

    with rst_suppressed(to, port):
        result = synflood_mod.flood(to, port, count, seconds)
        time.sleep(hold)
    return result


def synflood(lab: str, node: str, to: str, port: int, count: int, seconds: float,
             hold: float = 0.0) -> dict:
    """SYN flood from ``node`` at to:port. With ``hold`` > 0 the node's RSTs are dropped
    for that long after the flood, so the half-open requests stay queued."""
    scope.guard(lab, [to], count, seconds + hold)
    if hold:
        return in_node(lab, node, _flood_holding, to, port, count, seconds, hold, timeout=seconds + hold + 30)
    return in_node(lab, node, synflood_mod.flood, to, port, count, seconds, timeout=seconds + 30)


def handshake(lab: str, node: str, to: str, port: int, ack: bool = True, hold: float = 0.0) -> dict:
    scope.guard(lab, [to], 1, max(hold, 1.0))
    return in_node(lab, node, handshake_mod.handshake, to, port, ack=ack, hold=hold, timeout=hold + 30)


def sweep(lab: str, node: str, subnet: str, mode: str = "arp", seconds: float = 1.0) -> list[dict]:
    net = scope.network(subnet)
    scope.guard(lab, [str(net)], net.num_addresses, seconds)
    fn = {"arp": sweep_mod.arp_sweep, "ping": sweep_mod.ping_sweep}[mode]
    return in_node(lab, node, fn, str(net), seconds, timeout=seconds + 60)


def capture(lab: str, node: str, path: str, iface: str | None = None, bpf: str | None = None,
            count: int = 100, seconds: float = 5.0) -> dict:
    scope.check_bounds(count, seconds)
    _node_ns(lab, node)
    return in_node(lab, node, capture_mod.capture, os.path.abspath(path), iface, bpf, count, seconds,
                   timeout=seconds + 30)


def craft(lab: str, node: str, to: str, count: int = 1, timeout: float = 1.0, **fields: Any) -> dict:
    scope.guard(lab, [to], count, timeout)
    return in_node(lab, node, _craft, to, count, timeout, fields, timeout=timeout * count + 30)


def _craft(to: str, count: int, timeout: float, fields: dict) -> dict:
    return craft_mod.craft(to, count=count, timeout=timeout, **fields)
