"""Run a batch of rtnetlink requests across namespaces, and say which one failed.

Each namespace gets one ``rtnl.Channel`` for the backend's life (opened from
inside it, or handed over by ``netns.create`` while the thread is still there);
the requests for one namespace go out together, many per system call, as
pyroute2 encodes them (rtnl.py). Link indexes looked up by name are cached
until their namespace or link goes.
"""

from __future__ import annotations

import errno
import os
import resource
from collections import OrderedDict
from collections.abc import Sequence

from pyroute2.netlink import nlmsg
from pyroute2.netlink.rtnl import RTM_GETLINK

from netlab.backend import netns, rtnl

Item = tuple[int, "str | None", rtnl.Request]  # (position in the batch, namespace, request)


class BatchFailed(Exception):
    """Request ``index`` of a batch failed with ``cause`` (an OSError)."""

    def __init__(self, index: int, cause: OSError):
        super().__init__(str(cause))
        self.index = index
        self.cause = cause


class Netlink:
    """Channels into namespaces, and the link indexes learnt through them."""

    def __init__(self, root_fd: int) -> None:
        self._root_fd = root_fd  # the namespace ns=None means (the caller's)
        self._channels: OrderedDict[str | None, rtnl.Channel] = OrderedDict()
        self._index: dict[str | None, dict[str, int]] = {}  # namespace → link name → ifindex
        # Keep a quarter of the open-file limit for channels: a 4,000-node lab under
        # `ulimit -n 1024` reopens some, instead of failing with EMFILE.
        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        self._max_channels = max(16, (soft if soft != resource.RLIM_INFINITY else 65536) // 4)

    def close(self) -> None:
        for ch in self._channels.values():
            ch.close()
        self._channels.clear()
        self._index.clear()

    # -- channels and namespace handles ----------------------------------------
    def adopt(self, ns: str, channel: rtnl.Channel) -> None:
        """Take a channel opened inside ``ns`` (by ``netns.create``)."""
        self.forget(ns)
        self._keep(ns, channel)

    def channel(self, ns: str | None) -> rtnl.Channel:
        ch = self._channels.get(ns)
        if ch is not None:
            self._channels.move_to_end(ns)
            return ch
        with netns.entered(ns):
            ch = rtnl.Channel()
        self._keep(ns, ch)
        return ch

    def _keep(self, ns: str | None, ch: rtnl.Channel) -> None:
        self._channels[ns] = ch
        while len(self._channels) > self._max_channels:
            _, old = self._channels.popitem(last=False)
            old.close()

    def forget(self, ns: str | None) -> None:
        """Drop what is known of ``ns`` (it is gone, or about to be)."""
        ch = self._channels.pop(ns, None)
        if ch is not None:
            ch.close()
        self._index.pop(ns, None)

    def forget_link(self, ns: str | None, name: str) -> None:
        self._index.get(ns, {}).pop(name, None)

    def ns_fd(self, ns: str | None) -> int:
        """A new fd of namespace ``ns`` (for IFLA_NET_NS_FD); the request that carries it closes it."""
        return os.open(netns.path(ns), os.O_RDONLY | os.O_CLOEXEC) if ns else os.dup(self._root_fd)

    # -- requests -----------------------------------------------------------------
    def run(self, items: Sequence[Item], tolerate: tuple[int, ...] = ()) -> list[nlmsg | None]:
        """Send every item's request in its namespace; return the answers in order
        (a GET's decoded pyroute2 message, None for an acknowledged change).

        Raises BatchFailed naming the first failed item (errors whose errno is in
        ``tolerate`` count as done). Items of one namespace keep their order; items
        after a failure may have been done too (undo them)."""
        by_ns: dict[str | None, list[int]] = {}
        for pos, (_, ns, _) in enumerate(items):
            by_ns.setdefault(ns, []).append(pos)
        answers: list[nlmsg | None] = [None] * len(items)
        failed: list[tuple[int, OSError]] = []
        groups = list(by_ns.items())
        for n, (ns, positions) in enumerate(groups):
            try:
                outcomes = self.channel(ns).exchange([items[p][2] for p in positions])
            except OSError as exc:  # entering the namespace, or the socket itself
                outcomes = [exc] * len(positions)
            for p, out in zip(positions, outcomes):
                if isinstance(out, OSError):
                    if out.errno not in tolerate:
                        failed.append((items[p][0], out))
                else:
                    answers[p] = out
            if failed:  # stop here: what was sent is undone by the caller; close the rest's fds
                rtnl.close_fds([items[p][2] for _, rest in groups[n + 1:] for p in rest])
                break
        if failed:
            index, cause = min(failed, key=lambda f: f[0])
            raise BatchFailed(index, cause)
        return answers

    def sync(self, items: Sequence[Item]) -> None:
        """Run ``items`` (changes and RTM_GETLINKs, in order per namespace); learn the
        index of every link a GETLINK among them asked for."""
        for (_, ns, req), answer in zip(items, self.run(items)):
            if answer is not None and req.type == RTM_GETLINK:
                self._index.setdefault(ns, {})[dict(req.attrs)["IFLA_IFNAME"]] = rtnl.link_index(answer)

    def indexes(self, wanted: Sequence[tuple[int, str | None, str]]) -> list[int]:
        """Link indexes of (position, namespace, name), looked up together where not known."""
        first: dict[tuple[str | None, str], tuple[int, str | None, str]] = {}
        for i, ns, name in wanted:
            if name not in self._index.get(ns, ()):
                first.setdefault((ns, name), (i, ns, name))
        self.get_links(list(first.values()))
        return [self._index[ns][name] for _, ns, name in wanted]

    def get_links(self, wanted: Sequence[tuple[int, str | None, str]]) -> None:
        """Ask the kernel for each link (RTM_GETLINK) and learn its index.

        Asking for one link also makes the kernel apply a carrier change still
        queued for its linkwatch worker (rtnl_getlink → linkwatch_sync_dev)."""
        if not wanted:
            return
        try:
            answers = self.run([(i, ns, rtnl.get_link(name)) for i, ns, name in wanted])
        except BatchFailed as exc:
            if exc.cause.errno == errno.ENODEV:
                _, ns, name = next(w for w in wanted if w[0] == exc.index)
                where = ns or "the root namespace"
                raise BatchFailed(exc.index, OSError(errno.ENODEV, f"no interface {name} in {where}")) from exc
            raise
        for (_, ns, name), answer in zip(wanted, answers):
            self._index.setdefault(ns, {})[name] = rtnl.link_index(answer)
