"""Read a topology: text or data → validated model → resolved topology.

Three ways in, one set of checks and messages:

- ``load(path)``: a file, ``-`` (standard input) or a pipe, read by ``netlab.source``;
- ``load_text(text, source)``: YAML text, parsed by ``netlab.yamlread`` with positions;
- ``load_data(data, source)``: data already in Python (plain dicts, lists, text,
  numbers, booleans, None; ipaddress objects are fine), e.g. from a builder.

Every problem is reported at once as ``file:line:col: field.path: message`` (data
from Python has no lines: ``source: field.path: message``); nothing here touches
the machine. The structure is checked, whatever its types, before the resolver
sees any of it.
"""

from __future__ import annotations

import functools
import os
from typing import Any

from pydantic import TypeAdapter, ValidationError

from netlab import kinds, problems, source as sources, yamlread
from netlab.errors import Problem, TopologyError
from netlab.model import NodeSpec, TopologyFile
from netlab.problems import Locator, describe
from netlab.resolve import Topology, resolve

TOPOLOGY_SHAPE = "a topology is a mapping with `name` and `nodes`"


def load(path: str | os.PathLike) -> Topology:
    """The topology at ``path`` (``-``: standard input); TopologyError with every problem found."""
    text, name = sources.read(path)
    return load_text(text, name)


def load_text(text: str, source: str = "<string>") -> Topology:
    """Parse and check a topology written in YAML; raise TopologyError with every problem found."""
    with yamlread.gc_paused():
        data, positions = yamlread.parse(text, source)
        return _load(data, Locator(source, positions))


def load_data(data: Any, source: str = "<data>") -> Topology:
    """Check a topology given as Python data, with the checks and messages of a file:
    ``load_data({"name": "lab", "nodes": {"a": {}, "b": {}}, "links": [["a", "b"]]})``.
    Raises TopologyError whose problems name no line (``source: field: message``)."""
    with yamlread.gc_paused():
        return _load(data, Locator(source, None))


def read_mapping(text: str, source: str, expected: str) -> tuple[dict, Locator]:
    """YAML text → (its top-level mapping, a locator for it); a syntax error or a
    non-mapping is a TopologyError at its place (``expected`` says what a file holds)."""
    data, positions = yamlread.parse(text, source)
    if not isinstance(data, dict):
        raise TopologyError([Problem(source, 1, 1, "(file)", f"{expected}, not {describe(data)}")])
    return data, Locator(source, positions)


def _load(data: Any, locator: Locator) -> Topology:
    if not isinstance(data, dict):
        raise TopologyError([locator.problem((), f"{TOPOLOGY_SHAPE}, not {describe(data)}")])
    found: list[Problem] = []
    try:
        topo = TopologyFile.model_validate(data)
    except ValidationError as err:
        found += problems.from_validation(err, TopologyFile, locator)
        topo = None
    nodes = _nodes(data, locator, found)
    if sum(1 for n in nodes.values() if kinds.kind(n.kind).root) > 1:
        found.append(locator.problem(("nodes",), "at most one node may be the real host (kind: host)"))
    if topo is None or found:
        raise TopologyError(_unique(found) or [locator.problem((), "invalid topology")])
    resolved, errors = resolve(topo, nodes, locator.source, locator.root)
    if errors:
        raise TopologyError(_unique([locator.problem(path, msg) for path, msg in errors]))
    return resolved


def _nodes(data: dict, locator: Locator, found: list[Problem]) -> dict[str, NodeSpec]:
    """Each node's spec, validated by its kind, with the defaults merged in. A
    problem in a value that came from `defaults` is reported there, once."""
    raw_nodes = data.get("nodes")
    defaults = data.get("defaults")
    defaults = defaults if isinstance(defaults, dict) else {}  # else TopologyFile reported it
    if not isinstance(raw_nodes, dict):
        return {}
    # a body that is not a mapping: TopologyFile reported it
    specs = {name: {} if body is None else body for name, body in raw_nodes.items()
             if body is None or isinstance(body, dict)}
    if defaults:
        specs = {name: _merge(defaults, body) for name, body in specs.items()}
    by_kind = _by_kind(specs)
    nodes = None if by_kind is None else _all_at_once(specs, by_kind)
    if nodes is None:  # a problem somewhere: node by node, each at its place
        return _one_by_one(specs, raw_nodes, defaults, locator, found)
    for name, spec in nodes.items():  # what a kind refuses in a valid spec, in the file's order
        said = kinds.kind(spec.kind).problems(name, spec)
        if said:
            found += _placed(said, name, raw_nodes[name] or {}, defaults, locator)
    return nodes


def _by_kind(specs: dict[str, dict]) -> dict[str, list[str]] | None:
    """The nodes of each kind, in the file's order; None if a node names no known kind."""
    by_kind: dict[Any, list[str]] = {}
    try:
        for name, spec in specs.items():
            by_kind.setdefault(spec.get("kind", "netns"), []).append(name)
    except TypeError:  # a kind that is a list or a mapping
        return None
    if not all(isinstance(k, str) and k in kinds.KINDS for k in by_kind):
        return None
    return by_kind


def _all_at_once(specs: dict[str, dict], by_kind: dict[str, list[str]]) -> dict[str, NodeSpec] | None:
    """Every node validated in one call per kind (one call per node was a third of
    reading a 20,000-node file's nodes), or None if any node has a problem."""
    made: dict[str, NodeSpec] = {}
    for kind_name, names in by_kind.items():
        try:
            made.update(zip(names, _specs_of(kinds.kind(kind_name).spec).validate_python([specs[n] for n in names])))
        except ValidationError:
            return None
    return made if len(by_kind) == 1 else {name: made[name] for name in specs}  # in the file's order


@functools.cache
def _specs_of(spec: type[NodeSpec]) -> TypeAdapter:
    return TypeAdapter(list[spec])


def _one_by_one(specs: dict[str, dict], raw_nodes: dict, defaults: dict, locator: Locator,
                found: list[Problem]) -> dict[str, NodeSpec]:
    nodes: dict[str, NodeSpec] = {}
    for name, spec in specs.items():
        body = raw_nodes[name] or {}

        def place(path: tuple, name=name, body=body) -> tuple:
            return _origin(name, body, defaults, path)

        kind_name = spec.get("kind", "netns")
        if not isinstance(kind_name, str) or kind_name not in kinds.KINDS:
            known = ", ".join(sorted(kinds.KINDS))
            why = (f"unknown kind {kind_name!r} (kinds: {known})" if isinstance(kind_name, str)
                   else f"should be one of: {known}, not {describe(kind_name)}")
            found.append(locator.problem(place(("kind",)), why))
            continue
        node_kind = kinds.kind(kind_name)
        try:
            nodes[name] = node_kind.spec.model_validate(spec)
        except ValidationError as err:
            found += problems.from_validation(err, node_kind.spec, locator, place)
            continue
        found += _placed(node_kind.problems(name, nodes[name]), name, body, defaults, locator)
    return nodes


def _placed(said: list[tuple[tuple, str]], name: str, body: dict, defaults: dict, locator: Locator) -> list[Problem]:
    """What a node's kind refuses in its valid spec, each at its place."""
    return [locator.problem(_origin(name, body, defaults, path), message) for path, message in said]


def _merge(defaults: dict, node: dict) -> dict:
    """The node's fields over the defaults; a mapping in both (sysctls) is merged one level.
    Nothing is copied or changed: the values are only read."""
    if not defaults:
        return node
    merged = {**defaults, **node}
    for key, value in node.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            merged[key] = {**defaults[key], **value}
    return merged


def _origin(name: Any, body: dict, defaults: dict, path: tuple) -> tuple:
    """Where a node's field is written: under nodes.<name>, or under defaults."""
    if not path:
        return ("nodes", name)
    first = path[0]
    if first in body:
        inner = body[first]
        if (len(path) > 1 and isinstance(inner, dict) and isinstance(defaults.get(first), dict)
                and path[1] not in inner and path[1] in defaults[first]):
            return ("defaults",) + path
        return ("nodes", name) + path
    if first in defaults:
        return ("defaults",) + path
    return ("nodes", name) + path


def _unique(found: list[Problem]) -> list[Problem]:
    return list(dict.fromkeys(found))
