"""The kernel backend: plan steps made real through pyroute2 (netlink) and libnftables.

One netlink socket per namespace, opened from inside it (a thread setns(2)s in,
opens the socket, and comes back: the socket stays bound to that namespace),
so no request forks a child.
"""

from __future__ import annotations

import errno
import os
import socket
import subprocess
from collections.abc import Sequence

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.backend import netns, nft, tc
from netlab.executor import StepFailed
from netlab.model import duration_us, percent

NETLINK_ROUTE = 0
_GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.EINVAL)


class KernelBackend:
    """Runs plan ops (``link.veth`` → ``link_veth``) against the running kernel."""

    def __init__(self) -> None:
        self._ipr: dict[str | None, IPRoute] = {}
        self._root_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)

    # -- plumbing -------------------------------------------------------------
    def run(self, op: str, batch: Sequence[dict]) -> None:
        method = getattr(self, op.replace(".", "_"))
        for i, args in enumerate(batch):
            try:
                method(**args)
            except (OSError, NetlinkError, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
                raise StepFailed(i, _os_error(exc)) from exc

    def close(self) -> None:
        for ipr in self._ipr.values():
            ipr.close()
        self._ipr.clear()
        os.close(self._root_fd)

    def ipr(self, ns: str | None) -> IPRoute:
        if ns not in self._ipr:
            with netns.entered(ns):
                sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_ROUTE)
            self._ipr[ns] = IPRoute(use_socket=sock)
        return self._ipr[ns]

    def _forget(self, ns: str | None) -> None:
        ipr = self._ipr.pop(ns, None)
        if ipr is not None:
            ipr.close()

    def _index(self, ns: str | None, name: str) -> int:
        found = self.ipr(ns).link_lookup(ifname=name)
        if not found:
            raise OSError(errno.ENODEV, f"no interface {name} in {ns or 'the root namespace'}")
        return found[0]

    def _ns_fd(self, ns: str | None) -> int:
        return os.open(netns.path(ns), os.O_RDONLY) if ns else os.dup(self._root_fd)

    # -- namespaces -----------------------------------------------------------
    def netns_create(self, ns: str) -> None:
        netns.create(ns)

    def netns_delete(self, ns: str, **_: object) -> None:
        self._forget(ns)
        netns.delete(ns)

    def netns_mark(self, ns: str, alias: str) -> None:
        self.ipr(ns).link("set", index=self._index(ns, "lo"), ifalias=alias, state="up")

    def sysctl_set(self, ns: str | None, key: str, value: str) -> None:
        if ns is None:
            raise OSError(errno.EPERM, "netlab never changes the root namespace's sysctls")
        with netns.entered(ns):
            with open("/proc/sys/" + key.replace(".", "/"), "w") as fh:
                fh.write(value)

    # -- links ----------------------------------------------------------------
    def link_bridge(self, ns: str | None, name: str, alias: str, mtu: int | None = None, stp: bool = False) -> None:
        extra = {"mtu": mtu} if mtu else {}
        self.ipr(ns).link("add", ifname=name, kind="bridge", br_stp_state=int(stp), ifalias=alias, **extra)

    def link_veth(self, ns: str | None, name: str, alias: str, peer_ns: str | None, peer_name: str,
                  peer_alias: str, tmp_name: str, mac: str | None = None, mtu: int | None = None,
                  peer_mac: str | None = None, peer_mtu: int | None = None) -> None:
        fd = self._ns_fd(peer_ns)
        try:
            peer: dict = {"ifname": peer_name, "net_ns_fd": fd, "ifalias": peer_alias}
            if peer_mac:
                peer["address"] = peer_mac
            if peer_mtu:
                peer["mtu"] = peer_mtu
            extra = {k: v for k, v in (("address", mac), ("mtu", mtu)) if v}
            self.ipr(ns).link("add", ifname=name, kind="veth", ifalias=alias, peer=peer, **extra)
        finally:
            os.close(fd)

    def link_up(self, ns: str | None, name: str, master: str | None = None) -> None:
        extra = {"master": self._index(ns, master)} if master else {}
        self.ipr(ns).link("set", index=self._index(ns, name), state="up", **extra)

    def link_delete(self, ns: str | None, name: str, **_: object) -> None:
        if ns is not None and not netns.exists(ns):
            return
        try:
            self.ipr(ns).link("del", index=self._index(ns, name))
        except OSError as exc:
            if exc.errno not in _GONE:
                raise
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise

    # -- addresses, routes, qdiscs ---------------------------------------------
    def addr_add(self, ns: str | None, dev: str, address: str) -> None:
        ip, _, plen = address.partition("/")
        self.ipr(ns).addr("add", index=self._index(ns, dev), address=ip, prefixlen=int(plen))

    def addr_delete(self, ns: str | None, dev: str, address: str) -> None:
        ip, _, plen = address.partition("/")
        _tolerant(lambda: self.ipr(ns).addr("del", index=self._index(ns, dev), address=ip, prefixlen=int(plen)))

    def route_add(self, ns: str | None, to: str, via: str | None = None, dev: str | None = None,
                  metric: int | None = None) -> None:
        self.ipr(ns).route("add", **_route(self, ns, to, via, dev, metric))

    def route_delete(self, ns: str | None, to: str, via: str | None = None, dev: str | None = None,
                     metric: int | None = None) -> None:
        _tolerant(lambda: self.ipr(ns).route("del", **_route(self, ns, to, via, dev, metric)))

    def qdisc_tbf(self, ns: str | None, dev: str, rate: str) -> None:
        tc.tbf(self.ipr(ns), self._index(ns, dev), rate)

    def qdisc_netem(self, ns: str | None, dev: str, delay: str) -> None:
        self.ipr(ns).tc("replace", "netem", index=self._index(ns, dev), handle="1:", delay=duration_us(delay))

    def loss_apply(self, ns: str | None, dev: str, loss: str) -> None:
        if ns is None:
            raise OSError(errno.EPERM, "netlab never changes the root namespace's firewall")
        with netns.entered(ns):
            nft.run(nft.loss_rules(dev, percent(loss)))

    def qdisc_delete(self, ns: str | None, dev: str, **_: object) -> None:
        _tolerant(lambda: self.ipr(ns).tc("del", index=self._index(ns, dev), root=True))

    # -- NAT and commands -------------------------------------------------------
    def nat_apply(self, ns: str | None, table: str, rules: list[dict]) -> None:
        with netns.entered(ns):
            nft.apply(table, rules)

    def nat_delete(self, ns: str | None, table: str, **_: object) -> None:
        if ns is not None and not netns.exists(ns):
            return
        with netns.entered(ns):
            nft.delete(table)

    def exec_run(self, ns: str | None, lab: str, node: str, kind: str, command: str) -> None:
        from netlab import nodeexec  # late: nodeexec needs the kind registry, which imports the planner

        result = nodeexec.run(lab, node, ["sh", "-c", command], capture=True, kind=kind)
        if result.returncode != 0:
            out = (result.stderr or result.stdout or b"").decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"`{command}` in {node} exited {result.returncode}: {out}")


def _route(backend: KernelBackend, ns: str | None, to: str, via: str | None, dev: str | None,
           metric: int | None) -> dict:
    spec: dict = {"dst": to}
    if to == "default":
        spec["dst"] = "::/0" if via and ":" in via else "0.0.0.0/0"
    if via:
        spec["gateway"] = via
    if dev:
        spec["oif"] = backend._index(ns, dev)
    if metric is not None:
        spec["priority"] = metric
    return spec


def _tolerant(call) -> None:
    try:
        call()
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise
    except OSError as exc:
        if exc.errno not in _GONE:
            raise


def _os_error(exc: BaseException) -> BaseException:
    if isinstance(exc, NetlinkError):
        return OSError(exc.code, os.strerror(exc.code))
    return exc
