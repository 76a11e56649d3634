"""The lab a run needs, as a topology built through the core: two namespaces on one veth.

The client end carries every client IP of the plan as an address; the
per-namespace sysctls the run needs are the nodes' ``sysctls``, so they are
set inside the lab only and vanish with it (the root namespace is never touched).
"""

from __future__ import annotations

from netlab import loader
from netlab.bench.conns.plan import CLIENT_NET, LAB_SYN_BACKLOG, Plan
from netlab.resolve import Topology

CLIENT, SERVER = "client", "server"


def text(plan: Plan) -> str:
    """The topology YAML for ``plan`` (what `netlab plan` would read)."""
    prefix = CLIENT_NET.split("/")[1]
    addresses = ", ".join(f"{ip}/{prefix}" for ip in plan.client_ips)
    lo, hi = plan.port_range
    return (
        f"name: {plan.lab}\n"
        f"nodes:\n"
        f"  {CLIENT}:\n"
        f"    sysctls:\n"
        f"      net.ipv4.ip_local_port_range: \"{lo} {hi}\"\n"
        f"  {SERVER}:\n"
        f"    sysctls:\n"
        f"      net.core.somaxconn: {plan.somaxconn}\n"
        f"      net.ipv4.tcp_max_syn_backlog: {LAB_SYN_BACKLOG}\n"
        f"links:\n"
        f"  - subnet: {CLIENT_NET}\n"
        f"    endpoints:\n"
        f"      - {{node: {CLIENT}, interface: eth0, address: [{addresses}]}}\n"
        f"      - {{node: {SERVER}, interface: eth0, address: {plan.server_ip}/{prefix}}}\n"
    )


def build(plan: Plan) -> Topology:
    return loader.load_text(text(plan), f"<bench conns {plan.lab}>")
