"""The ops a plan is made of, in words: each as the ip(8), tc(8) or nft(8) command
it amounts to (what `netlab plan` prints and what errors name), and the kernel
feature it needs (`up` and live changes check them before changing anything).

A node kind that plans ops of its own declares their words on the kind
(``NodeKind.ops``); they are looked up here with the common ones.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from netlab import kinds
from netlab.step import Step

# (veth and bridge are not probed: without them nothing works, and the step's own error says so.)
NEEDS: Mapping[str, str] = MappingProxyType({"qdisc.tbf": "qdisc:tbf", "qdisc.netem": "qdisc:netem",
                                             "nat.apply": "nftables", "loss.apply": "nftables",
                                             "loss.delete": "nftables"})


def _ipn(ns: str | None) -> str:
    return f"ip -n {ns}" if ns else "ip"


def _up(master: str | None, up: bool | None) -> str:
    return (f" master {master}" if master else "") + (" up" if up else "")


def _inside(ns: str | None) -> str:
    return f"ip netns exec {ns} " if ns else ""


_COMMON: Mapping[str, Callable[[dict], str]] = MappingProxyType({
    "netns.create": lambda a: f"ip netns add {a['ns']}",
    "netns.mark": lambda a: f"{_ipn(a['ns'])} link set lo alias {a['alias']} up",
    "sysctl.set": lambda a: f"{_inside(a['ns'])}sysctl -w {a['key']}={a['value']}",
    "link.bridge": lambda a: f"{_ipn(a['ns'])} link add {a['name']} type bridge"
                             + (f" mtu {a['mtu']}" if a.get("mtu") else "") + (" stp_state 1" if a.get("stp") else ""),
    "link.veth": lambda a: f"{_ipn(a['ns'])} link add {a['name']}" + _up(a.get("master"), a.get("up"))
                           + f" type veth peer name {a['peer_name']}"
                           + (f" netns {a['peer_ns']}" if a['peer_ns'] != a['ns'] else "")
                           + (f" mtu {a['mtu']}" if a.get("mtu") else "")
                           + _up(a.get("peer_master"), a.get("peer_up")),
    "link.vxlan": lambda a: f"{_ipn(a.get('underlay'))} link add {a['name']}" + (f" netns {a['ns']}" if a['ns'] else "")
                            + f" type vxlan id {a['vni']} local {a['local']} remote {a['remote']} dstport {a['port']}"
                            + (f" mtu {a['mtu']}" if a.get("mtu") else "") + f"  # to {a['peer']}",
    "link.up": lambda a: f"{_ipn(a['ns'])} link set {a['name']}" + (f" master {a['master']}" if a.get("master") else "")
                         + " up",
    "link.set": lambda a: f"{_ipn(a['ns'])} link set {a['name']} {'up' if a['up'] else 'down'}",
    "addr.add": lambda a: f"{_ipn(a['ns'])} addr add {a['address']} dev {a['dev']}",
    "qdisc.tbf": lambda a: f"{_inside(a['ns'])}tc qdisc replace dev {a['dev']} root tbf rate {a['rate']}",
    "qdisc.netem": lambda a: f"{_inside(a['ns'])}tc qdisc replace dev {a['dev']} root netem delay {a['delay']}",
    "qdisc.delete": lambda a: f"{_inside(a['ns'])}tc qdisc del dev {a['dev']} root",
    "loss.apply": lambda a: f"{_inside(a['ns'])}nft add rule netdev netlab_loss {a['dev']} "
                            f"numgen random mod 100 < {a['loss']} drop",
    "loss.delete": lambda a: f"{_inside(a['ns'])}nft delete chain netdev netlab_loss {a['dev']}",
    "route.add": lambda a: f"{_ipn(a['ns'])} route add {a['to']}" + (f" via {a['via']}" if a.get("via") else "")
                           + (f" dev {a['dev']}" if a.get("dev") else "")
                           + (f" metric {a['metric']}" if a.get("metric") is not None else ""),
    "nat.apply": lambda a: f"{_inside(a['ns'])}nft -f <table ip {a['table']}: "
                           + ", ".join(r["type"] for r in a["rules"]) + ">",
    "exec.run": lambda a: f"[{a['node']}] {a['command']}",
})

_WORDS: Mapping[str, Callable[[dict], str]] = MappingProxyType({**_COMMON, **kinds.op_words()})


def describe(step: Step) -> str:
    """``step`` as the command a user would type to do it by hand."""
    fmt = _WORDS.get(step.op)
    return fmt(step.args) if fmt else f"{step.op} {step.args}"
