"""The kernel backend: plan steps made real through rtnetlink, pyroute2 and libnftables.

One netlink socket per namespace, opened from inside it (a thread setns(2)s in,
opens the socket, and comes back: the socket stays bound to that namespace),
so no request forks a child. The ops a lab repeats once per node (namespace,
mark, veth, link up, address, route, link delete) run a whole batch at once
through ``pipeline.Netlink``: pyroute2's messages, many per system call, no
wait between them (see rtnl.py for why not IPRoute there); the rest go through
pyroute2's IPRoute.
"""

from __future__ import annotations

import errno
import functools
import os
import socket
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.backend import netns, nft, process, rtnl
from netlab.backend.base import StepFailed
from netlab.backend.pipeline import BatchFailed, Item, Netlink
from netlab.model import duration_us, percent

NETLINK_ROUTE = 0
_GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH, errno.EADDRNOTAVAIL, errno.EINVAL)
# Threads removing namespaces. Each umount(2) waits for an expedited RCU grace period
# (namespace_unlock → synchronize_rcu_expedited), and waiters at the same moment share
# one: 1 → 8 threads took 1,000 namespaces from 0.23 to 0.04 ms each; for 2,000 hosts
# of a loaded machine, 8 → 64 took `down` from 2.5–3.7 s to 0.9–1.9 s (interleaved).
_DELETERS = 8
_CREATORS, _CREATORS_FROM = 4, 64  # threads making namespaces, and the batch that starts using them
_DELETERS_MAX = 64


class KernelBackend:
    """Runs plan ops (``link.veth`` → ``link_veth``) against the running kernel."""

    def __init__(self) -> None:
        self._ipr: dict[str | None, IPRoute] = {}
        self._root_fd = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        self.nl = Netlink(self._root_fd)
        self._points = netns.MountPoints()

    # -- plumbing -------------------------------------------------------------
    def run(self, op: str, batch: Sequence[dict]) -> None:
        name = op.replace(".", "_")
        many = getattr(self, "_many_" + name, None)
        if many is not None:
            try:
                many(batch)
            except BatchFailed as exc:
                raise StepFailed(exc.index, exc.cause) from exc.cause
            return
        method = getattr(self, name)
        for i, args in enumerate(batch):
            try:
                method(**args)
            except (OSError, NetlinkError, subprocess.SubprocessError, RuntimeError, ValueError) as exc:
                raise StepFailed(i, _os_error(exc)) from exc

    def close(self) -> None:
        for ipr in self._ipr.values():
            ipr.close()
        self._ipr.clear()
        self.nl.close()
        self._points.close()
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
        self.nl.forget(ns)

    def _index(self, ns: str | None, name: str) -> int:
        return _one(lambda: self.nl.indexes([(0, ns, name)])[0])

    # -- namespaces -----------------------------------------------------------
    def netns_create(self, ns: str) -> None:
        _one(lambda: self._many_netns_create([{"ns": ns}]))

    def _many_netns_create(self, batch: Sequence[dict]) -> None:
        """Namespaces are made on a thread per CPU: unshare(2) is kernel CPU (the
        namespace's per-net setup), and two threads made 1,000 in 0.35–0.40 s instead of
        0.49–0.51 s. Each one's socket is opened while its thread is still inside."""
        def make(args: dict) -> rtnl.Channel | OSError:
            try:
                return netns.create(args["ns"], inside=rtnl.Channel, points=self._points)
            except OSError as exc:
                return exc

        workers = min(_CREATORS, len(os.sched_getaffinity(0))) if len(batch) >= _CREATORS_FROM else 1
        pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
        try:
            # a chunk at a time, its sockets adopted (Netlink keeps only as many as the
            # open-file limit allows) before the next chunk opens more
            for start in range(0, len(batch), _CREATORS_FROM):
                part = batch[start:start + _CREATORS_FROM]
                made = list(pool.map(make, part)) if pool else [make(a) for a in part]
                failed = None
                for i, (args, out) in enumerate(zip(part, made), start):
                    if isinstance(out, OSError):
                        failed = failed or (i, out)
                    else:
                        self.nl.adopt(args["ns"], out)  # closed with the backend, even if another failed
                if failed:
                    raise BatchFailed(*failed)
        finally:
            if pool:
                pool.shutdown()

    def netns_delete(self, ns: str, **_: object) -> None:
        self._forget(ns)
        netns.delete(ns)

    def _many_netns_delete(self, batch: Sequence[dict]) -> None:
        """umount(2) mostly waits for an RCU grace period (~0.2 ms, little CPU):
        a few threads wait together, so 1,000 namespaces go in a quarter of the time."""
        for args in batch:
            self._forget(args["ns"])
        with ThreadPoolExecutor(max_workers=min(_DELETERS_MAX, max(_DELETERS, len(batch) // 32))) as pool:
            outcomes = list(pool.map(_attempt, [functools.partial(netns.delete, a["ns"]) for a in batch]))
        failed = [(i, exc) for i, exc in enumerate(outcomes) if exc is not None]
        if failed:
            raise BatchFailed(*failed[0])

    def netns_mark(self, ns: str, alias: str) -> None:
        _one(lambda: self._many_netns_mark([{"ns": ns, "alias": alias}]))

    def _many_netns_mark(self, batch: Sequence[dict]) -> None:
        self.nl.run([(i, a["ns"], rtnl.set_link("lo", up=True, alias=a["alias"])) for i, a in enumerate(batch)])

    def sysctl_set(self, ns: str | None, key: str, value: str) -> None:
        if ns is None:
            raise OSError(errno.EPERM, "netlab never changes the root namespace's sysctls")
        with netns.entered(ns):
            with open("/proc/sys/" + key.replace(".", "/"), "w") as fh:
                fh.write(value)

    def _many_sysctl_set(self, batch: Sequence[dict]) -> None:
        """Each run of steps in one namespace is written from one visit to it (a star's
        ports: a thousand sysctls in the switch's namespace)."""
        i = 0
        while i < len(batch):
            ns, end = batch[i]["ns"], i
            while end < len(batch) and batch[end]["ns"] == ns:
                end += 1
            if ns is None:
                raise BatchFailed(i, OSError(errno.EPERM, "netlab never changes the root namespace's sysctls"))
            try:
                with netns.entered(ns):
                    for i in range(i, end):
                        with open("/proc/sys/" + batch[i]["key"].replace(".", "/"), "w") as fh:
                            fh.write(batch[i]["value"])
            except OSError as exc:
                raise BatchFailed(i, exc) from exc
            i = end

    # -- links ----------------------------------------------------------------
    def link_bridge(self, ns: str | None, name: str, alias: str, mtu: int | None = None, stp: bool = False) -> None:
        _one(lambda: self._many_link_bridge([{"ns": ns, "name": name, "alias": alias, "mtu": mtu, "stp": stp}]))

    def _many_link_bridge(self, batch: Sequence[dict]) -> None:
        items: list[Item] = []
        for i, a in enumerate(batch):
            # the kernel ignores IFLA_IFALIAS when it creates a link: the mark is set after
            items += [(i, a["ns"], rtnl.new_bridge(a["name"], a["alias"], a.get("mtu"), a.get("stp", False))),
                      (i, a["ns"], rtnl.set_link(a["name"], alias=a["alias"]))]
        self.nl.run(items)

    def link_veth(self, ns: str | None, name: str, alias: str | None, peer_ns: str | None, peer_name: str,
                  peer_alias: str | None, tmp_name: str = "", mac: str | None = None, mtu: int | None = None,
                  peer_mac: str | None = None, peer_mtu: int | None = None, up: bool = False,
                  master: str | None = None, peer_up: bool = False, peer_master: str | None = None) -> None:
        args = {"ns": ns, "name": name, "alias": alias, "peer_ns": peer_ns, "peer_name": peer_name,
                "peer_alias": peer_alias, "mac": mac, "mtu": mtu, "peer_mac": peer_mac, "peer_mtu": peer_mtu,
                "up": up, "master": master, "peer_up": peer_up, "peer_master": peer_master}
        _one(lambda: self._many_link_veth([args]))

    def _many_link_veth(self, batch: Sequence[dict]) -> None:
        """Every pair is made from this process's namespace with both ends placed
        straight into theirs (`ip link add A netns X type veth peer B netns Y`), one
        chunk of requests per system call, the end that is a bridge port up and
        enslaved in the same message (the plan brings the other end up by `link.up`,
        once addresses are on). An end that carries an alias (the root namespace's)
        gets it from inside its namespace after. Should both ends be asked up, the
        second comes up from inside its namespace and both are asked for (see
        _many_link_up: their carrier is applied now). A chunk's namespace fds are
        opened just before it is sent."""
        pairs = [_orient(a) for a in batch]
        wanted = [(i, end.ns, end.master) for i, pair in enumerate(pairs) for end in pair if end.master]
        index = {(i, ns, name): ifindex for (i, ns, name), ifindex in zip(wanted, self.nl.indexes(wanted))}
        for first in range(0, len(batch), rtnl.CHUNK_MESSAGES):
            self.nl.run(self._veths(pairs, index, first, first + rtnl.CHUNK_MESSAGES))
        peers: list[Item] = []
        mains: list[Item] = []
        for i, (main, peer) in enumerate(pairs):
            if peer.up or peer.alias:
                master = index.get((i, peer.ns, peer.master)) if peer.master else None
                peers.append((i, peer.ns, rtnl.set_link(peer.name, up=peer.up or None, master=master,
                                                        alias=peer.alias)))
            if peer.up:
                peers.append((i, peer.ns, rtnl.get_link(peer.name)))
            if main.alias:
                mains.append((i, main.ns, rtnl.set_link(main.name, alias=main.alias)))
            if main.up and peer.up:  # carrier now: apply it (the plan brings at most one end up here)
                mains.append((i, main.ns, rtnl.get_link(main.name)))
        self.nl.sync(peers)
        self.nl.sync(mains)

    def _veths(self, pairs: Sequence[tuple["_End", "_End"]], index: dict, start: int, end: int) -> list[Item]:
        made: list[Item] = []
        try:
            for i in range(start, min(end, len(pairs))):
                main, peer = pairs[i]
                fd = _at(i, self.nl.ns_fd, main.ns)
                peer_fd = _at(i, self.nl.ns_fd, peer.ns, close=fd)
                master = index.get((i, main.ns, main.master)) if main.master else None
                made.append((i, None, rtnl.new_veth(main.name, main.alias, fd, peer.name, peer.alias, peer_fd,
                                                    main.mac, main.mtu, peer.mac, peer.mtu, master, main.up)))
        except BaseException:  # not one fd of the pairs already packed may leak
            rtnl.close_fds([req for _, _, req in made])
            raise
        return made

    def link_vxlan(self, ns: str | None, name: str, alias: str, vni: int, local: str, remote: str, port: int,
                   mac: str | None = None, mtu: int | None = None, underlay: str | None = None, **_: object) -> None:
        """A VXLAN device made in the namespace of the underlay (this process's: the host's own, or
        the namespace standing in for a simulated host) and placed in ``ns``."""
        fd = self.nl.ns_fd(ns)
        _one(lambda: self.nl.run([(0, underlay, rtnl.new_vxlan(name, alias, fd, vni, local, remote, port, mac,
                                                               mtu))]))
        _one(lambda: self.nl.run([(0, ns, rtnl.set_link(name, alias=alias))]))

    def link_up(self, ns: str | None, name: str, master: str | None = None, peer_ns: str | None = None,
                peer_name: str | None = None) -> None:
        _one(lambda: self._many_link_up([{"ns": ns, "name": name, "master": master, "peer_ns": peer_ns,
                                          "peer_name": peer_name}]))

    def _many_link_up(self, batch: Sequence[dict]) -> None:
        """Bring every link up, bridges last, each then synced with its veth peer (see below).

        A bridge that comes up after its ports enables them all in one pass, and
        the hosts' first IPv6 announcements (MLD, sent when their end gets carrier)
        are dropped at its still-disabled ports instead of flooded to every other
        host: for a 1,000-host star that flood was a million frame deliveries."""
        enslaved = [(i, a["ns"], a["master"]) for i, a in enumerate(batch) if a.get("master")]
        masters = dict(zip((i for i, _, _ in enslaved), self.nl.indexes(enslaved)))
        bridges = {(ns, name) for _, ns, name in enslaved}
        last = [(i, a) for i, a in enumerate(batch) if (a["ns"], a["name"]) in bridges]
        first = [(i, a) for i, a in enumerate(batch) if (a["ns"], a["name"]) not in bridges]
        for part in (first, last):
            # A veth whose peer is up has carrier at once, but the kernel applies it
            # (qdisc, operstate, a bridge port starting to forward) in its linkwatch
            # worker, ~100 devices a round, rounds a second apart: 1,000 pairs took
            # 4 s more to carry traffic. Asking for a link applies its change now, so
            # `up` returns a lab that works; it also learns the index. Each link is
            # asked for in the same send as its `up`, and then every peer, whose
            # carrier changed with it (a bridge port that came up with the pair).
            self.nl.sync([(i, a["ns"], req) for i, a in part
                          for req in (rtnl.set_link(a["name"], up=True, master=masters.get(i)), rtnl.get_link(a["name"]))])
            peers: dict[tuple[str | None, str], int] = {}
            for i, a in part:
                if a.get("peer_name"):
                    peers.setdefault((a.get("peer_ns"), a["peer_name"]), i)
            self.nl.get_links([(i, ns, name) for (ns, name), i in peers.items()])

    def link_set(self, ns: str | None, name: str, up: bool, peer_ns: str | None = None,
                 peer_name: str | None = None) -> None:
        """`ip link set NAME up|down` (a live change). Asking for the link, and for its peer,
        after applies both carrier changes now: until the linkwatch worker gets to the peer
        (up to a second later) the peer's queue drops what is sent."""
        _one(lambda: self.nl.run([(0, ns, rtnl.set_link(name, up=up))]))
        ends = [(0, ns, name)] + ([(1, peer_ns, peer_name)] if peer_name else [])
        _one(lambda: self.nl.get_links(ends))

    def link_delete(self, ns: str | None, name: str, **_: object) -> None:
        _one(lambda: self._many_link_delete([{"ns": ns, "name": name}]))

    def _many_link_delete(self, batch: Sequence[dict]) -> None:
        items: list[Item] = []
        for i, a in enumerate(batch):
            if a["ns"] is not None and not netns.exists(a["ns"]):
                continue
            self.nl.forget_link(a["ns"], a["name"])
            items.append((i, a["ns"], rtnl.del_link(a["name"])))
        self.nl.run(items, tolerate=_GONE)

    # -- addresses, routes, qdiscs ---------------------------------------------
    def addr_add(self, ns: str | None, dev: str, address: str) -> None:
        _one(lambda: self._many_addr_add([{"ns": ns, "dev": dev, "address": address}]))

    def _many_addr_add(self, batch: Sequence[dict]) -> None:
        index = self.nl.indexes([(i, a["ns"], a["dev"]) for i, a in enumerate(batch)])
        self.nl.run([(i, a["ns"], rtnl.new_addr(index[i], a["address"])) for i, a in enumerate(batch)])

    def addr_delete(self, ns: str | None, dev: str, address: str) -> None:
        ip, _, plen = address.partition("/")
        _tolerant(lambda: self.ipr(ns).addr("del", index=self._index(ns, dev), address=ip, prefixlen=int(plen)))

    def route_add(self, ns: str | None, to: str, via: str | None = None, dev: str | None = None,
                  metric: int | None = None) -> None:
        _one(lambda: self._many_route_add([{"ns": ns, "to": to, "via": via, "dev": dev, "metric": metric}]))

    def _many_route_add(self, batch: Sequence[dict]) -> None:
        devs = [(i, a["ns"], a["dev"]) for i, a in enumerate(batch) if a.get("dev")]
        oif = dict(zip((i for i, _, _ in devs), self.nl.indexes(devs)))
        self.nl.run([(i, a["ns"], rtnl.new_route(a["to"], a.get("via"), oif.get(i), a.get("metric")))
                     for i, a in enumerate(batch)])

    def route_delete(self, ns: str | None, to: str, via: str | None = None, dev: str | None = None,
                     metric: int | None = None) -> None:
        _tolerant(lambda: self.ipr(ns).route("del", **_route(self, ns, to, via, dev, metric)))

    def qdisc_tbf(self, ns: str | None, dev: str, rate: str) -> None:
        _one(lambda: self._many_qdisc_tbf([{"ns": ns, "dev": dev, "rate": rate}]))

    def _many_qdisc_tbf(self, batch: Sequence[dict]) -> None:
        index = self.nl.indexes([(i, a["ns"], a["dev"]) for i, a in enumerate(batch)])
        options = {rate: rtnl.tbf_options(rate) for rate in {a["rate"] for a in batch}}
        self.nl.run([(i, a["ns"], rtnl.replace_qdisc(index[i], "tbf", options[a["rate"]]))
                     for i, a in enumerate(batch)])

    def qdisc_netem(self, ns: str | None, dev: str, delay: str) -> None:
        self.ipr(ns).tc("replace", "netem", index=self._index(ns, dev), handle="1:", delay=duration_us(delay))

    def loss_apply(self, ns: str | None, dev: str, loss: str) -> None:
        if ns is None:
            raise OSError(errno.EPERM, "netlab never changes the root namespace's firewall")
        with netns.entered(ns):
            nft.run(nft.loss_rules(dev, percent(loss)))

    def loss_delete(self, ns: str | None, dev: str, **_: object) -> None:
        if ns is None:
            raise OSError(errno.EPERM, "netlab never changes the root namespace's firewall")
        with netns.entered(ns):
            nft.loss_delete(dev)

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

    def exec_run(self, ns: str | None, node: str, command: str, argv: list[str]) -> None:
        result = process.run(ns, argv, capture=True)
        if result.returncode != 0:
            out = (result.stderr or result.stdout or b"").decode(errors="replace").strip()[-300:]
            raise RuntimeError(f"`{command}` in {node} exited {result.returncode}: {out}")


@dataclass(frozen=True)
class _End:
    """One end of a veth pair as link.veth's args give it."""

    ns: str | None
    name: str
    alias: str | None
    mac: str | None
    mtu: int | None
    up: bool
    master: str | None


def _orient(a: dict) -> tuple[_End, _End]:
    """(the end the creating message makes, its peer). Only the first can come up and
    be enslaved in that message: a bridge port that comes up with the pair if there is
    one, else an end that comes up. (Its peer, brought up second, has carrier at once.)"""
    ends = (_End(a["ns"], a["name"], a.get("alias"), a.get("mac"), a.get("mtu"), bool(a.get("up")),
                 a.get("master")),
            _End(a["peer_ns"], a["peer_name"], a.get("peer_alias"), a.get("peer_mac"), a.get("peer_mtu"),
                 bool(a.get("peer_up")), a.get("peer_master")))
    score = [(e.up and e.master is not None, e.up) for e in ends]
    return ends if score[0] >= score[1] else (ends[1], ends[0])


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


def _attempt(call: Callable[[], object]) -> OSError | None:
    try:
        call()
    except OSError as exc:
        return exc
    return None


def _one(call: Callable[[], object]):
    """Run a one-step batch for the op methods called directly: the error is the step's own."""
    try:
        return call()
    except BatchFailed as exc:
        raise exc.cause from None


def _at(i: int, call: Callable[..., int], *args: object, close: int | None = None) -> int:
    """``call(*args)``, its OSError reported as step ``i`` of the batch (closing ``close`` first)."""
    try:
        return call(*args)
    except OSError as exc:
        if close is not None:
            os.close(close)
        raise BatchFailed(i, exc) from exc


def _os_error(exc: BaseException) -> BaseException:
    if isinstance(exc, NetlinkError):
        return OSError(exc.code, os.strerror(exc.code))
    return exc
