"""Read what the kernel holds in a namespace: interfaces, addresses, routes, NAT, marks."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator

from pyroute2 import IPRoute

from netlab.backend import netns, nft, procfs

_SCOPES = {0: "global", 200: "site", 253: "link", 254: "host"}


@contextlib.contextmanager
def _ipr(ns: str | None) -> Iterator[IPRoute]:
    """pyroute2 on a netlink socket opened inside ``ns`` (None: this namespace)."""
    with netns.entered(ns):
        sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0)
    with IPRoute(use_socket=sock) as ipr:
        yield ipr


def links(ns: str | None) -> list[tuple[str, str | None]]:
    """(name, alias) of every link in namespace ``ns`` (None: this one)."""
    with _ipr(ns) as ipr:
        return [(link.get_attr("IFLA_IFNAME"), link.get_attr("IFLA_IFALIAS")) for link in ipr.get_links()]


def node_view(ns: str | None) -> dict:
    """Interfaces, routes and NAT rules of a namespace as the kernel reports them."""
    with _ipr(ns) as ipr:
        return _view(ipr, ns)


def _view(ipr: IPRoute, ns: str | None) -> dict:
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
        forwarding = procfs.sysctl_read("net.ipv4.ip_forward") == "1"  # the thread's namespace's
    return {"interfaces": interfaces, "routes": routes, "nftables": rules, "forwarding": forwarding}
