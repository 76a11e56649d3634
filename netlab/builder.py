"""A topology described in Python: the same fields a topology file has, added with
calls that read like the file, checked by the same code with the same messages.

    topo = (netlab.Topology("demo")
            .node("gw", forwarding=True)
            .node("h1").node("h2")
            .bridge("br0", node="gw", address="auto", gateway=True, members=["h1:eth0", "h2:eth0"]))

``validate()`` returns the validated model (``netlab.resolve.Topology``) a file
gives; a problem names the Python line that added the element (``demo.py:7:
nodes.h1.kind: unknown kind ...``) where a file's would name its line and column.
``to_yaml()`` writes the file `netlab up` reads; ``load`` and ``from_dict`` give a
Topology from a file or a mapping, checked at once.
"""

from __future__ import annotations

import copy
import ipaddress
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from netlab import loader
from netlab.errors import Problem, TopologyError
from netlab.resolve import Topology as Model

Endpoint = str | Mapping[str, Any]  # "h1:eth0", "h1", or {"endpoint": "h1:eth0", "address": ...}


@dataclass(frozen=True)
class CallSite(Problem):
    """A problem with an element added in Python: where the call that added it is."""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


def _caller() -> tuple[str, int]:
    """(file, line) of the first frame outside this module: the call that adds an element."""
    frame = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    if frame is None:
        return "<python>", 0
    return frame.f_code.co_filename, frame.f_lineno


def _plain(value: Any) -> Any:
    """Plain YAML data: ip addresses and networks as text, tuples as lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, _IP):
        return str(value)
    return value


_IP = (ipaddress.IPv4Address, ipaddress.IPv6Address, ipaddress.IPv4Network, ipaddress.IPv6Network,
       ipaddress.IPv4Interface, ipaddress.IPv6Interface)


def _yaml(data: Mapping[str, Any]) -> str:
    """A topology file's text for ``data``: block style, keys in the order given, never folded."""
    return yaml.safe_dump(_plain(data), sort_keys=False, default_flow_style=False, width=1 << 16,
                          allow_unicode=True)


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class Topology:
    """A lab described in Python. Each method adds what the file's section of the same
    name holds and returns the topology, so calls chain."""

    def __init__(self, name: str, *, defaults: Mapping[str, Any] | None = None,
                 pools: Mapping[str, Mapping[str, Any]] | None = None, source: str | None = None) -> None:
        """``source``: where the lab comes from, as its record and `netlab list` show it
        (default: the Python line that made the topology)."""
        self._data: dict[str, Any] = {"name": name}
        if defaults:
            self._data["defaults"] = _plain(defaults)
        if pools:
            self._data["pools"] = _plain(pools)
        self._data["nodes"] = {}
        self._origins: dict[str, tuple[str, int]] = {}  # dotted field path → call site
        self._where = _caller()
        self._source = source or f"{self._where[0]}:{self._where[1]}"
        self._model: Model | None = None

    # -- the elements --------------------------------------------------------------
    def _added(self, path: tuple) -> None:
        self._origins[_dotted(path)] = _caller()
        self._model = None

    def node(self, name: str, kind: str | None = None, **fields: Any) -> Topology:
        """A node (``kind`` netns by default; host, docker…) with the fields the file's
        ``nodes.NAME`` takes: forwarding, sysctls, routes, nat, exec, and a kind's own (image…)."""
        body = _plain(fields)
        if kind is not None:
            body = {"kind": kind, **body}
        self._data.setdefault("nodes", {})[name] = body
        self._added(("nodes", name))
        return self

    def link(self, a: Endpoint, b: Endpoint, **fields: Any) -> Topology:
        """A veth pair between two endpoints ("node:interface", "node", or a mapping with
        ``endpoint`` or ``node``/``interface`` and ``address``, ``mac``, ``mtu``); fields as the
        file's: rate, loss, delay, mtu, subnet, pool."""
        links = self._data.setdefault("links", [])
        links.append({"endpoints": [_plain(a), _plain(b)], **_plain(fields)})
        self._added(("links", len(links) - 1))
        return self

    def bridge(self, name: str, node: str, members: Sequence[Endpoint] = (), **fields: Any) -> Topology:
        """A Linux bridge ``name`` in ``node``'s namespace, each member reaching it by a veth;
        fields as the file's: address, gateway, subnet, pool, mtu, stp, rate, loss, delay."""
        self._data.setdefault("bridges", {})[name] = {"node": node, "members": _plain(list(members)),
                                                      **_plain(fields)}
        self._added(("bridges", name))
        return self

    def nat(self, node: str, type: str, **fields: Any) -> Topology:
        """A NAT rule of ``node`` (added to its ``nat`` list): masquerade or snat (``out``,
        ``source``, snat's ``to``), dnat (``in_`` or ``**{"in": ...}``, ``port``, ``to``, ``proto``)."""
        if "in_" in fields:
            fields["in"] = fields.pop("in_")
        rules = self._node(node).setdefault("nat", [])
        rules.append({"type": type, **_plain(fields)})
        self._added(("nodes", node, "nat", len(rules) - 1))
        return self

    def route(self, node: str, to: str = "default", **fields: Any) -> Topology:
        """A route of ``node`` (added to its ``routes``): ``via`` a gateway, or ``dev``, and ``metric``."""
        routes = self._node(node).setdefault("routes", [])
        routes.append({"to": _plain(to), **_plain(fields)})
        self._added(("nodes", node, "routes", len(routes) - 1))
        return self

    def pool(self, name: str, **fields: Any) -> Topology:
        """An address pool (ipv4, prefix, ipv6, prefix6) links and bridges draw from."""
        self._data.setdefault("pools", {})[name] = _plain(fields)
        self._added(("pools", name))
        return self

    def host(self, name: str, underlay: str, **fields: Any) -> Topology:
        """A machine the lab is spread over (docs/multihost.md): ``underlay``, ``ssh``,
        ``vxlan_port``, ``netlab``; a node goes on it with ``node(..., host=name)``."""
        self._data.setdefault("hosts", {})[name] = {"underlay": _plain(underlay), **_plain(fields)}
        self._added(("hosts", name))
        return self

    def _node(self, name: str) -> dict:
        nodes = self._data.setdefault("nodes", {})
        if name not in nodes:
            nodes[name] = {}
            self._added(("nodes", name))
        return nodes[name]

    # -- as a whole ------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._data["name"]

    def renamed(self, name: str) -> Topology:
        """The same topology under another lab name (tests and parallel runs never collide)."""
        twin = copy.copy(self)
        twin._data = copy.deepcopy(self._data)
        twin._data["name"] = name
        twin._model = None
        return twin

    def validate(self) -> Model:
        """The validated model of this topology, as a file with the same content gives;
        TopologyError with every problem found."""
        if self._model is None:
            self._model = _check(self._data, self._source, self._origins, self._where)
        return self._model

    def to_dict(self) -> dict[str, Any]:
        """The topology as the mapping a topology file holds."""
        return _plain(self._data)

    def to_yaml(self, path: str | os.PathLike | None = None) -> str:
        """The topology file's text (`netlab up` reads it); written to ``path`` if given."""
        text = _yaml(self._data)
        if path is not None:
            Path(path).write_text(text)
        return text


def _load_data(data: Mapping[str, Any], source: str) -> Model:
    """The loader's checks on a topology given as data: the one door from here into the loader."""
    return loader.load_data(data, source)


def _check(data: dict, source: str, origins: Mapping[str, tuple[str, int]], where: tuple[str, int]) -> Model:
    """The loader's checks on ``data``, each problem placed at the Python call that added its element."""
    try:
        return _load_data(data, source)
    except TopologyError as exc:
        raise TopologyError([_placed(p, origins, where) for p in exc.problems]) from None


def _placed(problem: Problem, origins: Mapping[str, tuple[str, int]], where: tuple[str, int]) -> Problem:
    """``problem`` at the call that added its element (the longest path of ``origins`` it lies under)."""
    best, site = "", where
    for path, at in origins.items():
        if len(path) > len(best) and problem.field.startswith(path) and problem.field[len(path):len(path) + 1] in "[.":
            best, site = path, at
    return CallSite(site[0], site[1], 0, problem.field, problem.message)


def from_dict(data: Mapping[str, Any], *, name: str | None = None) -> Topology:
    """A Topology from the mapping a topology file holds (``name`` replaces its lab name),
    checked at once: TopologyError naming each problem's field."""
    topo = Topology.__new__(Topology)
    topo._data = _plain(data)
    if name is not None:
        topo._data["name"] = name
    topo._origins, topo._where, topo._model = {}, _caller(), None
    topo._source = f"{topo._where[0]}:{topo._where[1]}"
    topo.validate()
    return topo


def load(path: str | os.PathLike, *, name: str | None = None) -> Topology:
    """The topology file at ``path`` (``name`` replaces its lab name), checked at once:
    TopologyError naming each problem's file, line and column."""
    text = _read(path)
    model = loader.load_text(text, str(path))  # the file as written, its problems at its lines
    raw, _ = loader.read_mapping(text, str(path), "a topology is a mapping with `name` and `nodes`")
    topo = Topology.__new__(Topology)
    topo._data, topo._origins, topo._where, topo._source = _plain(raw), {}, (str(path), 0), str(path)
    topo._model = model
    if name is not None and name != model.name:
        topo._data["name"] = name
        # checked as written already: only the new name can be wrong (and bridge ports are named anew)
        topo._model = _load_data(topo._data, str(path))
    return topo


def _read(path: str | os.PathLike) -> str:
    try:
        return Path(path).read_text()
    except OSError as exc:
        raise TopologyError([Problem(str(path), 0, 0, "(file)", exc.strerror or str(exc))]) from None
