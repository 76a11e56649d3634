"""The lab a run needs, described with netlab's builder: two namespaces on one veth.

The client end carries every client IP of the plan as an address; the
per-namespace sysctls the run needs are the nodes' ``sysctls``, so they are
set inside the lab only and vanish with it (the root namespace is never touched).
"""

from __future__ import annotations

from netlab.bench.conns import leftovers
from netlab.bench.conns.plan import CLIENT_NET, LAB_SYN_BACKLOG, Plan
from netlab.builder import Topology

CLIENT, SERVER = "client", "server"
PARENT = "parent"
MAX_EHASH = 1 << 24  # the kernel's upper bound for net.ipv4.tcp_child_ehash_entries


def parent_lab(lab: str) -> str:
    """Name of the lab that holds the namespace the run's namespaces are created from."""
    return f"{lab[:30]}-p"


def ehash_entries(plan: Plan) -> int:
    """Buckets for each run namespace's own TCP established hash: one per socket it will hold."""
    return min(MAX_EHASH, 1 << max(16, (plan.target + plan.server_workers).bit_length()))


def build_parent(plan: Plan) -> Topology:
    """A lab of one namespace whose net.ipv4.tcp_child_ehash_entries gives every namespace
    created from it a TCP established hash of its own, sized for the run.

    Otherwise all namespaces share the host's table (sized at boot: 262,144 buckets
    here); two million sockets make its chains eight long, and every packet of every
    handshake walks one. The sysctl is per namespace and read from the namespace that
    creates a new one, so the run's namespaces are created from inside this one."""
    return Topology(parent_lab(plan.lab), source=leftovers.stamp(parent_lab(plan.lab))).node(
        PARENT, sysctls={"net.ipv4.tcp_child_ehash_entries": ehash_entries(plan)})


def parent_text(plan: Plan) -> str:
    return build_parent(plan).to_yaml()


def build(plan: Plan) -> Topology:
    """Client and server on one veth: every client IP of the plan on the client's end, the
    run's per-namespace sysctls on each node."""
    prefix = CLIENT_NET.split("/")[1]
    lo, hi = plan.port_range
    return (Topology(plan.lab, source=leftovers.stamp(plan.lab))
            .node(CLIENT, sysctls={**plan.sysctls, "net.ipv4.ip_local_port_range": f"{lo} {hi}"})
            .node(SERVER, sysctls={**plan.sysctls, "net.core.somaxconn": plan.somaxconn,
                                   "net.ipv4.tcp_max_syn_backlog": LAB_SYN_BACKLOG})
            .link({"node": CLIENT, "interface": "eth0", "address": [f"{ip}/{prefix}" for ip in plan.client_ips]},
                  {"node": SERVER, "interface": "eth0", "address": f"{plan.server_ip}/{prefix}"},
                  subnet=CLIENT_NET))


def text(plan: Plan) -> str:
    """The topology YAML for ``plan`` (what `netlab plan` would read)."""
    return build(plan).to_yaml()
