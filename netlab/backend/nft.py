"""nftables through its own library, libnftables: NAT, link loss, and the rules labs
and traffic tools add. Nothing in netlab runs the `nft` command.

Why libnftables rather than pyroute2's nftables module: pyroute2's covers
tables, chains and plain rules but not NAT statements, while libnftables
takes the same JSON `nft -j` prints (and nft's own syntax, for rules a lab
writes) and is the API nftables itself ships. The caller must be inside the
target namespace (``netns.entered``): the library opens its netlink socket there.
"""

from __future__ import annotations

import json
from typing import Any

from netlab.errors import FeatureMissing


def _nft():
    try:
        import nftables
    except ImportError as exc:  # pragma: no cover - declared dependency
        raise FeatureMissing("the nftables Python module is missing (pip install pip-nftables)") from exc
    try:
        ctx = nftables.Nftables()
    except OSError as exc:
        raise FeatureMissing(f"libnftables is missing ({exc}); `make install` installs the nftables package") from exc
    ctx.set_json_output(True)
    return ctx


def run(commands: list[dict[str, Any]]) -> Any:
    """Run JSON nftables commands; raise RuntimeError with nft's own message on failure."""
    ctx = _nft()
    rc, out, err = ctx.json_cmd({"nftables": commands})
    if rc != 0:
        raise RuntimeError(f"nftables: {err.strip() or 'command failed'}")
    return out


def command(text: str) -> None:
    """Run nft(8) commands written in nft's syntax (``;`` between them), e.g.
    ``add rule inet t input tcp dport 80 drop``; RuntimeError with nft's message on failure."""
    rc, _, err = _nft().cmd(text)
    if rc != 0:
        raise RuntimeError(f"nftables: {text!r}: {err.strip() or 'command failed'}")


def _match(field: str, proto: str, value: Any) -> dict:
    return {"match": {"op": "==", "left": {"payload": {"protocol": proto, "field": field}}, "right": value}}


def _net(network: str) -> Any:
    addr, _, plen = network.partition("/")
    return {"prefix": {"addr": addr, "len": int(plen)}} if plen else addr


def _oif(name: str, key: str = "oifname") -> dict:
    return {"match": {"op": "==", "left": {"meta": {"key": key}}, "right": name}}


def nat_rules(table: str, rules: list[dict]) -> list[dict]:
    """JSON commands for a table ``ip <table>`` holding the node's NAT rules."""
    base = {"family": "ip", "table": table}
    cmds: list[dict] = [
        {"add": {"table": {"family": "ip", "name": table}}},
        {"add": {"chain": {**base, "name": "postrouting", "type": "nat", "hook": "postrouting", "prio": 100,
                           "policy": "accept"}}},
        {"add": {"chain": {**base, "name": "prerouting", "type": "nat", "hook": "prerouting", "prio": -100,
                           "policy": "accept"}}},
    ]
    for r in rules:
        if r["type"] in ("masquerade", "snat"):
            expr = [_oif(r["out"])]
            if r.get("source"):
                expr.append(_match("saddr", "ip", _net(r["source"])))
            expr.append({"masquerade": None} if r["type"] == "masquerade" else {"snat": {"addr": r["to"]}})
            cmds.append({"add": {"rule": {**base, "chain": "postrouting", "expr": expr}}})
        elif r["type"] == "dnat":
            host, _, port = r["to"].rpartition(":")
            expr = [_oif(r["in"], "iifname"), _match("dport", r.get("proto", "tcp"), r["port"]),
                    {"dnat": {"addr": host, "port": int(port)}}]
            cmds.append({"add": {"rule": {**base, "chain": "prerouting", "expr": expr}}})
    return cmds


def apply(table: str, rules: list[dict]) -> None:
    run(nat_rules(table, rules))


def delete(table: str) -> None:
    try:
        run([{"delete": {"table": {"family": "ip", "name": table}}}])
    except RuntimeError as exc:
        if "No such file" not in str(exc):
            raise


def ruleset() -> list[dict]:
    """The namespace's ruleset as nft's JSON objects (for `netlab status`)."""
    out = run([{"list": {"ruleset": None}}])
    data = json.loads(out) if isinstance(out, str) and out else (out or {"nftables": []})
    return [o for o in data.get("nftables", []) if "metainfo" not in o]


LOSS_TABLE = "netlab_loss"


def loss_rules(dev: str, loss_percent: float) -> list[dict]:
    """Drop ``loss_percent`` of the packets arriving on ``dev``, at random: a netdev
    ingress chain with a numgen match, which needs no netem. Applied again, the
    new share replaces the old one (the chain is flushed first)."""
    table = {"family": "netdev", "name": LOSS_TABLE}
    chain = {"family": "netdev", "table": LOSS_TABLE, "name": dev}
    threshold = round(loss_percent * 10_000)  # out of 1,000,000
    draw = {"numgen": {"mode": "random", "mod": 1_000_000, "offset": 0}}
    return [
        {"add": {"table": table}},
        {"add": {"chain": {**chain, "type": "filter", "hook": "ingress", "dev": dev, "prio": 0, "policy": "accept"}}},
        {"flush": {"chain": chain}},
        {"add": {"rule": {"family": "netdev", "table": LOSS_TABLE, "chain": dev,
                          "expr": [{"match": {"op": "<", "left": draw, "right": threshold}},
                                   {"counter": None}, {"drop": None}]}}},
    ]


def loss_delete(dev: str) -> None:
    """Stop dropping packets arriving on ``dev`` (nothing there is not an error)."""
    try:
        run([{"delete": {"chain": {"family": "netdev", "table": LOSS_TABLE, "name": dev}}}])
    except RuntimeError as exc:
        if "No such file" not in str(exc):
            raise
