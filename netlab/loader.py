"""Read a topology file: YAML → validated model → resolved topology.

Every problem is reported at once as ``file:line:col: field.path: message``;
nothing here touches the machine.
"""

from __future__ import annotations

import copy
from pathlib import Path as FsPath
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError

from netlab import kinds
from netlab.errors import Problem, TopologyError
from netlab.model import NodeSpec, TopologyFile
from netlab.resolve import Topology, _dotted, resolve


class _Locator:
    """Maps a field path to the line and column where it is written."""

    def __init__(self, source: str, root: Any):
        self.source = source
        self.root = root

    def where(self, path: tuple) -> tuple[int, int]:
        node, line, col = self.root, 1, 1
        for part in path:
            child, pos = self._child(node, part)
            if child is _MISSING:
                # a field the model renamed or normalised (e.g. short link forms): skip it
                continue
            node = child
            if pos:
                line, col = pos
        return line, col

    @staticmethod
    def _child(node: Any, part: Any) -> tuple[Any, tuple[int, int] | None]:
        if isinstance(node, CommentedMap) and part in node:
            pos = node.lc.key(part) if hasattr(node.lc, "key") else None
            if isinstance(node[part], (CommentedMap, CommentedSeq)) and not pos:
                pos = (node[part].lc.line, node[part].lc.col)
            value_pos = node.lc.value(part)
            return node[part], ((pos or value_pos)[0] + 1, (pos or value_pos)[1] + 1)
        if isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
            line, col = node.lc.item(part)
            return node[part], (line + 1, col + 1)
        return _MISSING, None

    def problem(self, path: tuple, message: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.source, line, col, _dotted(path) or "(file)", message)


_MISSING = object()


def _pydantic_problems(err: ValidationError, prefix: tuple, locator: _Locator) -> list[Problem]:
    out = []
    for e in err.errors():
        loc = tuple(p for p in e["loc"] if not (isinstance(p, str) and ("[" in p or p in _UNION_TAGS)))
        msg = e["msg"].removeprefix("Value error, ")
        if e["type"] == "extra_forbidden":
            msg = "unknown field"
        elif e["type"] == "missing":
            msg = "required field is missing"
        elif e["type"] == "union_tag_invalid":
            msg = f"type must be one of: {e['ctx']['expected_tags']}"
        out.append(locator.problem(prefix + loc, msg))
    return out


_UNION_TAGS = {"masquerade", "snat", "dnat", "str", "tuple", "function-after", "function-before", "default"}


def _merge(defaults: dict, node: dict) -> dict:
    merged = copy.deepcopy(dict(defaults))
    for key, value in node.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    return merged


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def read_mapping(text: str, source: str, expected: str) -> tuple[Any, "_Locator"]:
    """YAML text → (its top-level mapping with line numbers, a locator for it); a syntax
    error or a non-mapping is a TopologyError at its place (``expected`` says what a file holds)."""
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    try:
        raw = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        raise TopologyError([Problem(source, line, col, "(yaml)", f"{exc.problem or exc.context}")]) from None
    if not isinstance(raw, dict):
        raise TopologyError([Problem(source, 1, 1, "(file)", expected)])
    return raw, _Locator(source, raw)


def load_text(text: str, source: str = "<string>") -> Topology:
    """Parse and check a topology; raise TopologyError with every problem found."""
    raw, locator = read_mapping(text, source, "a topology is a mapping with `name` and `nodes`")
    return _check(raw, locator)


def load_data(data: dict, source: str = "<data>") -> Topology:
    """Check a topology given as plain data (a generator's dict), as a file is checked;
    problems name the field, at line 1 (there are no lines)."""
    return _check(data, _Locator(source, data))


def _check(raw: Any, locator: _Locator) -> Topology:
    source = locator.source
    problems: list[Problem] = []
    try:
        topo = TopologyFile.model_validate(_plain(raw))
    except ValidationError as err:
        problems += _pydantic_problems(err, (), locator)
        topo = None
    nodes: dict[str, NodeSpec] = {}
    raw_nodes = raw.get("nodes") if isinstance(raw.get("nodes"), dict) else {}
    defaults = _plain(raw.get("defaults") or {})
    for name, body in raw_nodes.items():
        spec_raw = _merge(defaults, _plain(body or {}))
        kind_name = spec_raw.get("kind", "netns")
        if kind_name not in kinds.KINDS:
            problems.append(locator.problem(("nodes", name, "kind"),
                                            f"unknown kind {kind_name!r} (kinds: {', '.join(sorted(kinds.KINDS))})"))
            continue
        node_kind = kinds.kind(kind_name)
        try:
            nodes[name] = node_kind.spec.model_validate(spec_raw)
        except ValidationError as err:
            problems += _pydantic_problems(err, ("nodes", name), locator)
            continue
        problems += [locator.problem(("nodes", name) + p, m) for p, m in node_kind.problems(name, nodes[name])]
    if sum(1 for n in nodes.values() if kinds.kind(n.kind).root) > 1:
        problems.append(locator.problem(("nodes",), "at most one node may be the real host (kind: host)"))
    if topo is None or problems:
        raise TopologyError(problems or [locator.problem((), "invalid topology")])
    resolved, errors = resolve(topo, nodes, source)
    if errors:
        raise TopologyError([locator.problem(path, msg) for path, msg in errors])
    return resolved


def load(path: str | FsPath) -> Topology:
    p = FsPath(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise TopologyError([Problem(str(p), 0, 0, "(file)", exc.strerror or str(exc))]) from None
    return load_text(text, str(p))
