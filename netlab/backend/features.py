"""What this kernel can do, found by trying it in a throw-away namespace.

Kernels differ (this one has no netem, fq_codel, ipvlan, dummy, vlan or bond),
and a module list cannot tell built-in from absent, so each feature is probed
by creating the object for real. The probe namespace is never named under
/run/netns: it vanishes when the probing thread leaves it.
"""

from __future__ import annotations

import ctypes
import functools
import os
import socket
import threading
from collections.abc import Callable

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from netlab.backend import netns, nft, tracefs

LINK_KINDS = ("veth", "bridge", "vxlan", "macvlan", "ipvlan", "dummy", "vlan", "bond")
QDISCS = ("tbf", "htb", "netem", "fq_codel")


def _link(ipr: IPRoute, kind: str) -> None:
    # Nothing is deleted: the scratch namespace takes every probe object with it,
    # and link deletion (an RCU grace period each) is what would make probing slow.
    extra: dict = {}
    if kind == "veth":
        extra["peer"] = f"p{kind}1"
    elif kind == "vxlan":
        extra.update(vxlan_id=42, vxlan_port=4789)
    elif kind in ("macvlan", "ipvlan", "vlan"):
        ipr.link("add", ifname=f"l{kind}", kind="bridge")
        extra["link"] = ipr.link_lookup(ifname=f"l{kind}")[0]
        if kind == "vlan":
            extra["vlan_id"] = 42
    ipr.link("add", ifname=f"p{kind}", kind=kind, **extra)


def _qdisc(ipr: IPRoute, kind: str) -> None:
    args = {"tbf": {"rate": 125000, "burst": 3200, "latency": 50000}, "htb": {"default": 1},
            "netem": {"delay": 1000}, "fq_codel": {}}[kind]
    ipr.link("add", ifname=f"q{kind}", kind="veth", peer=f"q{kind}1")
    ipr.tc("add", kind, index=ipr.link_lookup(ifname=f"q{kind}")[0], handle="1:", **args)


def _nftables(_: IPRoute) -> None:
    nft.run([{"add": {"table": {"family": "inet", "name": "netlab_probe"}}},
             {"delete": {"table": {"family": "inet", "name": "netlab_probe"}}}])


def _probes() -> dict[str, Callable[[IPRoute], None]]:
    out: dict[str, Callable[[IPRoute], None]] = {}
    out.update({f"link:{k}": functools.partial(_link, kind=k) for k in LINK_KINDS})
    out.update({f"qdisc:{k}": functools.partial(_qdisc, kind=k) for k in QDISCS})
    out["nftables"] = _nftables
    return out


def _in_scratch_namespace(wanted: list[str], results: dict[str, str | None]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    try:
        if libc.unshare(netns.CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), "unshare")
        try:
            sock = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, 0)
            with IPRoute(use_socket=sock) as ipr:
                probes = _probes()
                for name in wanted:
                    if name not in probes:
                        continue
                    try:
                        probes[name](ipr)
                        results[name] = None
                    except (NetlinkError, OSError, RuntimeError) as exc:
                        code = getattr(exc, "code", None) or getattr(exc, "errno", None)
                        results[name] = os.strerror(code) if isinstance(code, int) else str(exc)
        finally:
            libc.setns(home, netns.CLONE_NEWNET)
    finally:
        os.close(home)


def all_features() -> list[str]:
    return [*_probes(), "perf:net:netif_rx"]


def probe(wanted: tuple[str, ...] | None = None) -> dict[str, str | None]:
    """{feature: None if it works, else why not}, e.g. {"qdisc:netem": "No such file or directory"}."""
    return {f: _probe_one(f) for f in (all_features() if wanted is None else wanted)}


@functools.cache
def _probe_one(feature: str) -> str | None:
    if feature == "perf:net:netif_rx":
        return tracefs.lookup(("net:netif_rx",)).missing.get("net:netif_rx")
    if feature not in _probes():
        return "unknown feature"
    return _probe_in_thread([feature])[feature]


def _probe_in_thread(wanted: list[str]) -> dict[str, str | None]:
    results: dict[str, str | None] = {}
    errors: list[BaseException] = []

    def target() -> None:
        try:
            _in_scratch_namespace(wanted, results)
        except BaseException as exc:  # reported to the caller below
            errors.append(exc)

    worker = threading.Thread(target=target, name="netlab-feature-probe")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return results


def missing(wanted: list[str]) -> dict[str, str]:
    """The features in ``wanted`` this kernel lacks, with the reason."""
    return {f: why for f, why in probe(tuple(wanted)).items() if why is not None}
