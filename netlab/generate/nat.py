"""The book's §10.5 network at any size: hosts on a LAN behind a gateway that
masquerades towards an "outside" namespace on 203.0.113.0/24 (TEST-NET-3), and a
DNAT port forward from the outside to h1's port 80 (as `docker run -p 8080:80`).
topologies/nat.yaml is the same lab with two hosts."""

from __future__ import annotations

from netlab.generate import lan
from netlab.generate.addressing import LAN_SPACE, GenerateError, carve, host, prefix_for

OUTSIDE_GW, OUTSIDE_HOST = "203.0.113.1/24", "203.0.113.2/24"


def nat(hosts: int, name: str = "nat", port: int = 8080) -> dict:
    """``hosts`` hosts h1..hN on br0 (and trunked bridges past 500) in ``gw``, which
    forwards, masquerades the LAN out of eth1, and forwards ``port`` on eth1 to h1:80."""
    if hosts < 1:
        raise GenerateError(f"--hosts must be at least 1 (got {hosts})")
    (subnet,) = carve(LAN_SPACE, 1, prefix_for(hosts + 1), f"a LAN of {hosts} hosts behind a gateway")
    gateway, first_host = host(subnet, 1), str(subnet[2])
    nodes: dict = {"gw": {"forwarding": True, "nat": [
        {"type": "masquerade", "out": "eth1", "source": str(subnet)},
        {"type": "dnat", "in": "eth1", "port": port, "to": f"{first_host}:80"}]}}
    nodes.update({f"h{i}": {} for i in range(1, hosts + 1)})
    nodes["outside"] = {}
    # h1's address is written out: the port forward names it
    members: list = [{"endpoint": "h1:eth0", "address": f"{first_host}/{subnet.prefixlen}"}]
    members += [f"h{i}:eth0" for i in range(2, hosts + 1)]
    links = [{"endpoints": [{"node": "gw", "interface": "eth1", "address": OUTSIDE_GW},
                            {"node": "outside", "interface": "eth0", "address": OUTSIDE_HOST}]}]
    return {"name": name, "nodes": nodes, "bridges": lan.bridges("gw", members, str(subnet), gateway), "links": links}
