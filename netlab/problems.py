"""Problems at their place: field paths → file:line:col, and pydantic's errors in
netlab's words (what was expected, what was written instead).

A path is the model's own (``links[0].endpoints[1].node``) even where the file
uses a short form (``[a:eth0, b:eth0]``): the locator walks the positions the
YAML reader kept and skips what the short form does not spell out.
"""

from __future__ import annotations

import difflib
import functools
import types
import typing
from collections.abc import Callable
from typing import Any, Union

from pydantic import BaseModel, ValidationError

from netlab.errors import Problem
from netlab.values import EXPLAINED

Path = tuple

# Fields the file may spell differently: an endpoint's node and interface in `endpoint: h1:eth0`.
_SPELLED = {"node": "endpoint", "interface": "endpoint"}

SHAPES = {
    "Endpoint": "node:interface (e.g. h1:eth0) or a mapping such as {node: h1, interface: eth0}",
    "Link": "a pair of endpoints such as [h1:eth0, h2:eth0], or a mapping with `endpoints`",
    "Bridge": "a mapping such as {node: gw, members: [h1:eth0, h2:eth0]}",
    "Route": "a mapping such as {to: default, via: 198.18.0.1}",
    "Pool": "a mapping such as {ipv4: 198.18.0.0/16, prefix: 24}",
    "Masquerade": "a mapping such as {type: masquerade, out: eth1}",
    "Snat": "a mapping such as {type: snat, out: eth1, to: 203.0.113.1}",
    "Dnat": "a mapping such as {type: dnat, in: eth1, port: 8080, to: '198.18.0.2:80'}",
}
NODE_SHAPE = "a mapping of the node's fields (e.g. {forwarding: true}), or empty"

_EXPECTED = {
    "dict_type": "a mapping (key: value)", "model_type": "a mapping of fields",
    "model_attributes_type": "a mapping of fields", "string_type": "text", "int_type": "a whole number",
    "int_parsing": "a whole number", "int_from_float": "a whole number", "bool_type": "true or false",
    "bool_parsing": "true or false", "float_type": "a number", "float_parsing": "a number",
    "tuple_type": "a list", "list_type": "a list", "set_type": "a list", "none_required": "empty (null)",
    "finite_number": "a finite number", "string_unicode": "text",
}


class Locator:
    """Maps a field path to the line and column where it is written (positions from
    ``yamlread``, kept as libyaml's marks; none for data that came from Python, whose
    problems name no line)."""

    def __init__(self, source: str, positions: Any = None):
        self.source = source
        self.root = positions

    def where(self, path: Path) -> tuple[int, int]:
        if self.root is None:
            return 0, 0
        node = self.root
        mark = node[0] if type(node) is tuple else node
        for part in path:
            found = _child(node, part)
            if found is None and isinstance(part, str) and part in _SPELLED:
                found = _child(node, _SPELLED[part])
            if found is None:
                continue  # a field the short form does not spell out: stay where we are
            mark, node = found
        return mark.line + 1, mark.column + 1

    def has(self, path: Path) -> bool:
        """Whether the file spells out every part of ``path``."""
        node = self.root
        for part in path:
            found = None if node is None else _child(node, part)
            if found is None:
                return False
            node = found[1]
        return True

    def problem(self, path: Path, message: str) -> Problem:
        line, col = self.where(path)
        return Problem(self.source, line, col, dotted(path) or "(file)", message)


def _child(node: Any, part: Any) -> tuple[Any, Any] | None:
    """(the mark where ``part`` of a container is written, its position), or None.
    A position is a scalar's mark, or a container's (mark, children): see yamlread."""
    if type(node) is not tuple:
        return None
    children = node[1]
    if isinstance(children, dict):
        return children.get(part) if isinstance(part, str) else None
    if isinstance(part, int) and 0 <= part < len(children):
        item = children[part]
        return (item[0] if type(item) is tuple else item), item
    return None


def listed(names: Any, limit: int = 12, sort: bool = True) -> str:
    """Some of ``names`` (sorted, or in their order), for a message: "a, b, c" or "a, b, …
    (20,000 in all)". A message naming every node of a 20,000-node file, once per link
    that names a missing one, made validating such a file run for minutes."""
    names = sorted(names) if sort else list(names)
    if len(names) <= limit:
        return ", ".join(names)
    return f"{', '.join(names[:limit])}, … ({len(names):,} in all)"


class Listing:
    """``listed(names)``, worked out when a message first shows it and kept: the messages
    of 5,000 routes of one node each sorted its 5,000 interfaces again."""

    def __init__(self, names: Any, sort: bool = True, empty: str = "none"):
        self._names, self._sort, self._empty, self._text = names, sort, empty, None

    def __str__(self) -> str:
        if self._text is None:
            self._text = listed(self._names, sort=self._sort) or self._empty
        return self._text


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        if isinstance(part, str) and not (part.isprintable() and part.strip() == part):
            out += f"[{part!r}]"  # a key with a newline or edge spaces, shown so that the line stays one line
        else:
            out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def describe(value: Any) -> str:
    """What a value is, in a user's words: "the text 'h1'", "the number 5", "a list of 3"."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the text {shown!r}" if value else "empty text"
    if value is None:
        return "nothing (null)"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def from_validation(err: ValidationError, model: type, locator: Locator,
                    place: Callable[[Path], Path] = lambda path: path) -> list[Problem]:
    """One problem per field (a value that fits no alternative of a union is one problem).
    ``place`` maps a path in ``model`` to the path in the file (e.g. under nodes.h1)."""
    grouped: dict[Path, list[tuple[dict, bool]]] = {}
    for e in err.errors(include_url=False):
        path, tagged = clean_loc(model, e["loc"])
        grouped.setdefault(path, []).append((e, tagged))
    out = []
    for path, errors in grouped.items():
        if len(errors) > 1 and all(tagged for _, tagged in errors):
            out.append(locator.problem(place(path), _union_message([e for e, _ in errors])))
        else:
            out += [locator.problem(place(path), message(e, model, path)) for e, _ in errors]
    return out


def _union_message(errors: list[dict]) -> str:
    wanted = []
    for e in errors:
        phrase = _EXPECTED.get(e["type"]) or e["msg"].removeprefix("Value error, ")
        if phrase not in wanted:
            wanted.append(phrase)
    return f"should be {' or '.join(wanted)}, not {describe(errors[0].get('input'))}"


def message(e: dict, model: type, path: Path) -> str:
    kind, ctx, value = e["type"], e.get("ctx") or {}, e.get("input")
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in EXPLAINED:
        return _explained(EXPLAINED[ctx["pattern"]], value) or e["msg"]
    if e["loc"] and e["loc"][-1] == "[key]" and kind == "string_type":
        return f"a key should be text (a name), not {describe(value)}"
    if kind == "missing":
        return "required field is missing"
    if kind == "extra_forbidden":
        return "unknown field" + _accepted(model, path)
    if kind in ("value_error", "assertion_error"):
        return e["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "union_tag_invalid":
        return f"type must be one of: {ctx['expected_tags']}"
    if kind == "union_tag_not_found":
        return f"needs `{ctx['discriminator'].strip(chr(39))}` (one of: masquerade, snat, dnat)"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        shape = SHAPES.get(ctx.get("class_name", "")) or _shape_at(model, path) or _EXPECTED[kind]
        return f"should be {shape}, not {describe(value)}"
    if kind in _EXPECTED:
        return f"should be {_EXPECTED[kind]}, not {describe(value)}"
    if kind == "literal_error":
        return f"should be one of: {ctx['expected']}, not {describe(value)}"
    bounds = {"greater_than_equal": ("at least", "ge"), "less_than_equal": ("at most", "le"),
              "greater_than": ("more than", "gt"), "less_than": ("less than", "lt")}
    if kind in bounds:
        word, key = bounds[kind]
        return f"should be {word} {ctx[key]}, not {value}"
    if kind in ("too_short", "too_long"):
        return _length_message(kind, ctx, path)
    return e["msg"]


def _explained(check: Callable[[str], str], value: str) -> str | None:
    """The message of the check a pattern in pydantic-core stands for (netlab.values._in_core)."""
    try:
        check(value)
    except ValueError as exc:
        return str(exc)
    return None  # the pattern and its check disagree: tests/unit/test_values.py says where


def _length_message(kind: str, ctx: dict, path: Path) -> str:
    if path and path[-1] == "endpoints":
        return f"a link joins exactly two endpoints, not {ctx.get('actual_length')}"
    if kind == "too_short":
        return f"should have at least {ctx.get('min_length')}, not {ctx.get('actual_length')}"
    return f"should have at most {ctx.get('max_length')}, not {ctx.get('actual_length')}"


def _shape_at(model: type, path: Path) -> str | None:
    if model is not None and model.__name__ == "TopologyFile" and len(path) == 2 and path[0] == "nodes":
        return NODE_SHAPE
    members = [_unwrap(m) for m in _members(type_at(model, path))]
    tags = [typing.get_args(m.model_fields["type"].annotation)[0] for m in members
            if _is_model(m) and "type" in m.model_fields]
    if tags and len(tags) == len(members):  # a rule chosen by its `type`: nat
        return f"{SHAPES.get(members[0].__name__, 'a mapping')} (type: {', '.join(tags)})"
    return None


def _accepted(model: type, path: Path) -> str:
    parent = type_at(model, path[:-1])
    if not (isinstance(parent, type) and issubclass(parent, BaseModel)):
        return ""
    fields = [f.alias or name for name, f in parent.model_fields.items()]
    close = difflib.get_close_matches(str(path[-1]), fields, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f" (fields: {', '.join(fields)}){hint}"


# -- pydantic locations → field paths ---------------------------------------------------
def _unwrap(tp: Any) -> Any:
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    return tp


def _members(tp: Any) -> list:
    if typing.get_origin(tp) in (Union, types.UnionType):
        return [m for m in typing.get_args(tp) if m is not type(None)]
    return []


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _field(model: type, name: Any) -> Any:
    for fname, f in model.model_fields.items():
        if name in (fname, f.alias):
            return f
    return None


def _pick(members: list, tag: str) -> Any:
    """The member of a union that pydantic's tag ``tag`` names (``dnat``, ``str``, ``tuple[str, ...]``)."""
    for m in members:
        m = _unwrap(m)
        if _is_model(m):
            kind = m.model_fields.get("type")
            if m.__name__ == tag or (kind is not None and tag in typing.get_args(kind.annotation)):
                return m
        name = getattr(typing.get_origin(m) or m, "__name__", "")
        if name and tag.split("[")[0] == name:
            return m
    return Any


def clean_loc(model: type, loc: tuple) -> tuple[Path, bool]:
    """(the field path of a pydantic error location, whether it passed through a union's tag).

    pydantic puts the name of the union member it tried into the location
    (``sysctls.x.str``, ``nat[0].dnat.port``); walking the model's types tells
    those apart from field names and keys, which can be any text."""
    out: list = []
    tp: Any = model
    tagged = False
    for part in loc:
        tp, members, is_dict, any_index = _shape(tp)
        if members and isinstance(part, str) and part != "[key]":
            tp, tagged = _pick(list(members), part), True
            continue
        if part == "[key]":
            continue
        out.append(str(part) if is_dict else part)  # a key, even 7, is a name: nodes.7, not nodes[7]
        tp = _step_at(tp, part, is_dict or any_index and isinstance(part, int))
    return tuple(out), tagged


def _shape(tp: Any) -> tuple[Any, tuple, bool, bool]:
    """(``tp`` without Annotated and Optional, its union's members, whether a dict, whether
    a list or a tuple of one type), from a cache: a generated file with 40,000 wrong
    values walked the same few types 40,000 times (~1 s)."""
    try:
        return _shape_cached(tp)
    except TypeError:  # a type holding something unhashable: worked out each time
        return _shape_cached.__wrapped__(tp)


@functools.lru_cache(maxsize=1024)
def _shape_cached(tp: Any) -> tuple[Any, tuple, bool, bool]:
    tp = _unwrap(tp)
    members = _members(tp)
    if len(members) == 1:
        tp, members = _unwrap(members[0]), []
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    any_index = origin in (list, set, frozenset) or (origin is tuple and len(args) == 2 and args[1] is Ellipsis)
    return tp, tuple(members), origin is dict, any_index


def _step_at(tp: Any, part: Any, any_part: bool) -> Any:
    """``_step``, from a cache: by type alone where the part does not change the answer (a
    key, an index of a list or of a tuple of one type), else by type and part (a model's
    field name, a fixed tuple's index)."""
    try:
        return _step_cached(tp, None if any_part else part)
    except TypeError:
        return _step(tp, part)


@functools.lru_cache(maxsize=1024)
def _step_cached(tp: Any, part: Any) -> Any:
    return _step(tp, part if part is not None else 0)


def _step(tp: Any, part: Any) -> Any:
    if _is_model(tp):
        f = _field(tp, part)
        return f.annotation if f is not None else Any
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple and args:
        if len(args) == 2 and args[1] is Ellipsis:
            return args[0]
        return args[part] if isinstance(part, int) and part < len(args) else Any
    if origin in (list, set, frozenset) and args:
        return args[0]
    if origin is dict and args:
        return args[1]
    return Any


def type_at(model: type, path: Path) -> Any:
    """The type a field path leads to in ``model`` (Any where it cannot tell)."""
    tp: Any = model
    for part in path:
        tp = _unwrap(tp)
        members = _members(tp)
        if len(members) == 1:
            tp = _unwrap(members[0])
        tp = _step(tp, part)
    return _unwrap(tp)
