"""Read what the kernel holds in a namespace: interfaces, addresses, routes, NAT."""

from __future__ import annotations

import socket

from netlab.backend import netns, nft
from netlab.backend.kernel import KernelBackend

_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host"}


def node_view(backend: KernelBackend, ns: str | None) -> dict:
    """Interfaces, routes and NAT rules of a namespace as the kernel reports them."""
    ipr = backend.ipr(ns)
    addrs: dict[int, list[str]] = {}
    for a in ipr.get_addr():
        addrs.setdefault(a["index"], []).append(f"{a.get_attr('IFA_ADDRESS')}/{a['prefixlen']}")
    names = {}
    interfaces = []
    for link in ipr.get_links():
        name = link.get_attr("IFLA_IFNAME")
        names[link["index"]] = name
        info = link.get_attr("IFLA_LINKINFO")
        interfaces.append({
            "name": name,
            "kind": info.get_attr("IFLA_INFO_KIND") if info else None,
            "state": link.get_attr("IFLA_OPERSTATE"),
            "mtu": link.get_attr("IFLA_MTU"),
            "mac": link.get_attr("IFLA_ADDRESS"),
            "alias": link.get_attr("IFLA_IFALIAS"),
            "master": link.get_attr("IFLA_MASTER"),
            "addresses": addrs.get(link["index"], []),
            "qdisc": link.get_attr("IFLA_QDISC"),
        })
    for i in interfaces:
        i["master"] = names.get(i["master"]) if i["master"] else None
    routes = []
    for family in (socket.AF_INET, socket.AF_INET6):
        for r in ipr.get_routes(family=family, table=254):
            dst = r.get_attr("RTA_DST")
            routes.append({
                "to": f"{dst}/{r['dst_len']}" if dst else "default",
                "via": r.get_attr("RTA_GATEWAY"),
                "dev": names.get(r.get_attr("RTA_OIF")),
                "scope": _SCOPES.get(r["scope"], r["scope"]),
            })
    with netns.entered(ns):
        try:
            rules = nft.ruleset()
        except Exception as exc:  # nftables absent: say so in the view, not fail the status
            rules = [{"error": str(exc)}]
        forwarding = _sysctl("net/ipv4/ip_forward") == "1"
    return {"interfaces": interfaces, "routes": routes, "nftables": rules, "forwarding": forwarding}


def _sysctl(key: str) -> str | None:
    """A sysctl of the namespace the thread is in (/proc/sys/net follows the opening thread's)."""
    try:
        with open(f"/proc/sys/{key}") as fh:
            return fh.read().strip()
    except OSError:
        return None
