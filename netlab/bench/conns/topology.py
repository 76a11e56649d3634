"""The lab a run needs, as a topology built through the core: two namespaces on one veth.

The client end carries every client IP of the plan as an address; the
per-namespace sysctls the run needs are the nodes' ``sysctls``, so they are
set inside the lab only and vanish with it (the root namespace is never touched).
"""

from __future__ import annotations

from netlab import loader
from netlab.bench.conns import leftovers
from netlab.bench.conns.plan import CLIENT_NET, LAB_SYN_BACKLOG, Plan
from netlab.resolve import Topology

CLIENT, SERVER = "client", "server"
PARENT = "parent"
MAX_EHASH = 1 << 24  # the kernel's upper bound for net.ipv4.tcp_child_ehash_entries


def parent_lab(lab: str) -> str:
    """Name of the lab that holds the namespace the run's namespaces are created from."""
    return f"{lab[:30]}-p"


def ehash_entries(plan: Plan) -> int:
    """Buckets for each run namespace's own TCP established hash: one per socket it will hold."""
    return min(MAX_EHASH, 1 << max(16, (plan.target + plan.server_workers).bit_length()))


def parent_text(plan: Plan) -> str:
    """A lab of one namespace whose net.ipv4.tcp_child_ehash_entries gives every namespace
    created from it a TCP established hash of its own, sized for the run.

    Otherwise all namespaces share the host's table (sized at boot: 262,144 buckets
    here); two million sockets make its chains eight long, and every packet of every
    handshake walks one. The sysctl is per namespace and read from the namespace that
    creates a new one, so the run's namespaces are created from inside this one."""
    return (f"name: {parent_lab(plan.lab)}\n"
            f"nodes:\n"
            f"  {PARENT}:\n"
            f"    sysctls:\n"
            f"      net.ipv4.tcp_child_ehash_entries: {ehash_entries(plan)}\n")


def build_parent(plan: Plan) -> Topology:
    return loader.load_text(parent_text(plan), leftovers.stamp(parent_lab(plan.lab)))


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
    return loader.load_text(text(plan), leftovers.stamp(plan.lab))
