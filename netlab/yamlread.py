"""YAML text → plain data (dicts, lists, text, numbers, booleans, None) and where
each value is written, within bounds, so that no file can make netlab hang or crash.

libyaml (through PyYAML) parses; this module builds the data from libyaml's events
in a loop. Why not a library's own loader: ruamel.yaml's and PyYAML's compose
recursively (a file nested 5,000 deep ended in RecursionError after 14 s), both
hand aliases back as shared objects that every later walk expands (an alias bomb
ran for minutes), and ruamel's pure-Python parser took ~60 s for 2.8 MB here
where libyaml takes ~1 s. Building from events lets each bound be checked as the
file is read: nesting depth, values after aliases are expanded, tags.

Two builders give the same answers (tests/unit/test_yamlc.py holds them to it): this
module's loop over PyYAML's events, the reference, and the same loop in C over the
system libyaml (netlab/yamlc/, ~4x faster: 3.5 MB in ~0.12 s against ~0.45 s), used
where it was built (BUILDER).

Values follow the YAML 1.2 core schema (``yes``/``on`` are text, ``012`` is 12;
no timestamps, no sexagesimal numbers); mapping keys are names, taken as written
(``5:`` is the key "5"). ``<<`` merge keys are supported, as most tools do.
"""

from __future__ import annotations

import contextlib
import gc
import re
import sys
from collections.abc import Iterator
from typing import Any

import yaml

from netlab.errors import Problem, TopologyError

try:  # the builder in C (netlab/yamlc/, over the system libyaml): ~4x faster, same answers
    from netlab import _yamlc
except ImportError:  # not built (no compiler or no libyaml headers at install): the Python builder below
    _yamlc = None

MAX_DEPTH = 64  # a topology nests ~8 deep (nodes.h1.nat[0].to)
MAX_VALUES = 2_000_000  # after aliases are expanded: about what 8 MiB of flow-style YAML holds
ALIAS_EXTRA = 100_000  # aliases may add this many values, or 10x the values written if more

# Positions keep libyaml's own marks (``.line``, ``.column``, counted from 0): a
# scalar's is its mark; a mapping's (mark, {key: (key mark, value position)}); a
# sequence's (mark, [item position, ...]). The parser makes a mark for every value
# anyway: keeping it costs nothing, where a (line, col) tuple a value was ~15% of
# reading a large file. netlab.problems.Locator reads them.
Pos = Any

# "c" or "python": the builder parse uses (tests set it to compare them). The Python one is
# the reference; the C one calls back into this module for what is rare (the messages,
# long or hex numbers, tags, merges), so that each rule is written once.
BUILDER = "c" if _yamlc is not None else "python"

_PARSER = yaml.CBaseLoader if yaml.__with_libyaml__ else yaml.BaseLoader  # pure Python: slow, but works
_CORE = "tag:yaml.org,2002:"
_NULL = {"", "~", "null", "Null", "NULL"}
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_SPECIAL_FLOAT = {".inf": float("inf"), ".Inf": float("inf"), ".INF": float("inf"), "+.inf": float("inf"),
                  "+.Inf": float("inf"), "+.INF": float("inf"), "-.inf": float("-inf"), "-.Inf": float("-inf"),
                  "-.INF": float("-inf"), ".nan": float("nan"), ".NaN": float("nan"), ".NAN": float("nan")}
_NUMERIC_START = set("0123456789+-.")


# Every problem this module finds, worded once for both builders: _Stop(mark, what, *args).
_SAY = {
    "deep": lambda most: f"nested more than {most} levels deep",
    "key": lambda what: f"a key is a name, not a {what}",
    "values": lambda most: f"more than {most:,} values (after aliases are expanded)",
    "bomb": lambda expanded, written, extra: (
        f"aliases expand to {expanded:,} values from {written:,} written (an alias bomb?); "
        f"netlab allows {extra:,} more, or ten times the values written"),
    "cycle": lambda name: f"alias *{name} is inside the node it names (a cycle)",
    "anchor": lambda name: f"alias *{name} names no anchor (&{name}) before it",
    "document": lambda: "a second YAML document (---): a topology is one document",
    "duplicate": lambda key, line, column: f"duplicate key {key!r} (first at line {line}, column {column})",
    "tag": lambda tag: (f"tag {tag.replace(_CORE, '!!')} is not supported (a topology holds text, numbers, "
                        "booleans, null, lists and mappings)"),
    "invalid": lambda text, tag: f"{text!r} is not a valid {tag.replace(_CORE, '!!')}",
    "digits": lambda length: f"a number with {length:,} digits",
    "merge": lambda: "<< merges mappings: its value is a mapping or a list of mappings",
}


class _Stop(Exception):
    def __init__(self, mark: Any, what: str, *args: Any):
        self.mark = mark
        self.message = _SAY[what](*args)
        super().__init__(self.message)


class _At:
    """A mark where libyaml gave none (an empty document: line 1, column 1)."""

    line = column = 0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for a while: reading makes a few objects per value and
    no reference cycles, and the collector, run again and again as they pile up, took
    ~40% of a 2.8 MB file's time.

    When the outermost pause ends, what it made goes straight to the oldest generation
    (gc.freeze, then gc.unfreeze: two list splices), as a collection would have moved
    it: else the collector's next run scans it all at once (~10^6 objects for a 3.5 MB
    file, 0.2–0.4 s) and again a generation up. Garbage cycles young then wait for the
    next full collection."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.freeze()
            gc.unfreeze()
            gc.enable()


def parse(text: str, source: str, builder: str | None = None) -> tuple[Any, Pos]:
    """(data, positions) of one YAML document; TopologyError at the place of any problem.
    ``builder``: "c" or "python" (bench validate compares them), else BUILDER."""
    try:
        with gc_paused():
            return _build_c(text) if (builder or BUILDER) == "c" else _build(text)
    except _Stop as stop:
        raise TopologyError([Problem(source, *_at(stop.mark), "(yaml)", stop.message)]) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = f"{exc.problem or exc.context}"
        if exc.context and exc.problem:
            message = f"{exc.problem} ({exc.context})"
        raise TopologyError([Problem(source, *_at(mark), "(yaml)", message)]) from None
    except yaml.YAMLError as exc:  # a reader error: a character YAML does not allow (offset in UTF-8 bytes)
        line, col = _byte_position(text, getattr(exc, "position", None))
        reason = getattr(exc, "reason", None) or str(exc).splitlines()[0]
        raise TopologyError([Problem(source, line, col, "(yaml)", reason)]) from None
    except UnicodeEncodeError as exc:  # text holding lone surrogates (from a caller, not a file)
        line, col = text.count("\n", 0, exc.start) + 1, exc.start - text.rfind("\n", 0, exc.start)
        raise TopologyError([Problem(source, line, col, "(yaml)", "text that is not valid Unicode")]) from None


def _at(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)


def _byte_position(text: str, offset: int | None) -> tuple[int, int]:
    if offset is None:
        return 1, 1
    data = text.encode("utf-8", "surrogatepass")
    start = data.rfind(b"\n", 0, offset) + 1
    return data.count(b"\n", 0, offset) + 1, len(data[start:offset].decode("utf-8", "replace")) + 1


_SCALAR, _ALIAS = yaml.ScalarEvent, yaml.AliasEvent
_MAP_START, _MAP_END = yaml.MappingStartEvent, yaml.MappingEndEvent
_SEQ_START, _SEQ_END = yaml.SequenceStartEvent, yaml.SequenceEndEvent


def _check_size(mark: Any, written: int, expanded: int) -> None:
    """Values as written (scalars, containers, aliases) against values once every alias is expanded."""
    if expanded > MAX_VALUES:
        raise _Stop(mark, "values", MAX_VALUES)
    if expanded - written > max(ALIAS_EXTRA, 10 * written):
        raise _Stop(mark, "bomb", expanded, written, ALIAS_EXTRA)


def _build(text: str) -> tuple[Any, Pos]:
    """Data from libyaml's events in one loop, no recursion, every bound checked as the
    file is read. One function with the container being built in local variables: a
    method call an event was a third of the time of a large file. Scalars, the bulk of
    any file, take the first branch; a value made by any branch is placed at the end."""
    parser = _PARSER(text)
    get = parser.get_event
    scalar, plain, map_start, map_end, seq_start, seq_end = _SCALAR, _plain, _MAP_START, _MAP_END, _SEQ_START, _SEQ_END
    stack: list[tuple] = []  # the enclosing containers, each as the locals below were
    anchors: dict[str, tuple[Any, Pos, int]] = {}  # anchor → (value, position, expanded size)
    open_anchors: set[str] = set()
    written = expanded = 0  # values as written, and once every alias is expanded
    documents = 0
    result, result_pos = None, _At()
    # the container being built: its value, its children's positions, whether a mapping,
    # its pending key (None: none) and that key's mark, its anchor, the expanded count at
    # its start, its << merges, its own mark
    value_of: Any = None
    kids: Any = None
    is_map = False
    key: str | None = None
    key_mark: Any = None
    anchor: str | None = None
    start = 0
    merges: list | None = None
    mark: Any = None
    try:
        while True:
            ev = get()
            kind = type(ev)
            if kind is scalar:
                written += 1
                expanded += 1
                at = ev.start_mark
                if is_map and key is None:
                    key, key_mark = ev.value, at
                    if ev.anchor is not None:
                        anchors[ev.anchor] = (_scalar(ev), at, 1)
                    continue
                value = plain(ev.value, at) if ev.tag is None and ev.implicit[0] else _scalar(ev)
                if ev.anchor is not None:
                    anchors[ev.anchor] = (value, at, 1)
                if value_of is not None and not is_map:
                    value_of.append(value)
                    kids.append(at)
                    continue
                pos = at
            elif kind is map_start or kind is seq_start:
                opening = kind is map_start
                if len(stack) >= MAX_DEPTH:
                    raise _Stop(ev.start_mark, "deep", MAX_DEPTH)
                if ev.tag is not None:
                    _check_tag(ev, _CORE + ("map" if opening else "seq"))
                if is_map and key is None:
                    raise _Stop(ev.start_mark, "key", "mapping" if opening else "list")
                written += 1
                expanded += 1
                if expanded - written > ALIAS_EXTRA or expanded > MAX_VALUES:  # else no bound can be passed
                    _check_size(ev.start_mark, written, expanded)
                if ev.anchor is not None:
                    open_anchors.add(ev.anchor)
                stack.append((value_of, kids, is_map, key, key_mark, anchor, start, merges, mark))
                value_of, kids = ({}, {}) if opening else ([], [])
                is_map, key, key_mark, anchor, start, merges, mark = (opening, None, None, ev.anchor,
                                                                      expanded - 1, None, ev.start_mark)
                continue
            elif kind is map_end or kind is seq_end:
                if expanded - written > ALIAS_EXTRA or expanded > MAX_VALUES:
                    _check_size(ev.start_mark, written, expanded)
                value, pos = value_of, (mark, kids)
                if merges:
                    _apply_merges(value, kids, merges)
                if anchor:
                    open_anchors.discard(anchor)
                    anchors[anchor] = (value, pos, expanded - start)
                value_of, kids, is_map, key, key_mark, anchor, start, merges, mark = stack.pop()
            elif kind is _ALIAS:
                name = ev.anchor
                if name in open_anchors:
                    raise _Stop(ev.start_mark, "cycle", name)
                if name not in anchors:
                    raise _Stop(ev.start_mark, "anchor", name)
                value, pos, size = anchors[name]
                written += 1
                expanded += size
                _check_size(ev.start_mark, written, expanded)
                if is_map and key is None:
                    if isinstance(value, (dict, list)):
                        raise _Stop(ev.start_mark, "key", "mapping or list")
                    key, key_mark = _key_text(value), ev.start_mark
                    continue
            elif ev is None:
                break
            else:
                if kind is yaml.DocumentStartEvent:
                    documents += 1
                    if documents > 1:
                        raise _Stop(ev.start_mark, "document")
                continue
            # place the value made above (a scalar, a finished container, an alias's value)
            if is_map:
                if key == "<<" and isinstance(value, (dict, list)):
                    merges = (merges or []) + [(value, pos, key_mark)]
                elif key in value_of:
                    first = kids[key][0]
                    raise _Stop(key_mark, "duplicate", key, first.line + 1, first.column + 1)
                else:
                    value_of[key] = value
                    kids[key] = (key_mark, pos)
                key = None
            elif value_of is not None:
                value_of.append(value)
                kids.append(pos)
            else:
                result, result_pos = value, pos
    finally:
        parser.dispose()
    return result, result_pos


def _scalar(ev: Any) -> Any:
    if ev.tag in (None, "!"):
        return _plain(ev.value, ev.start_mark) if ev.implicit[0] else ev.value
    return ev.value if ev.tag == _CORE + "str" else _tagged(ev.tag, ev.value, ev.start_mark)


def _check_tag(ev: Any, container_tag: str) -> None:
    if ev.tag not in ("!", container_tag):
        raise _Stop(ev.start_mark, "tag", ev.tag)


def _key_text(value: Any) -> str:
    """An aliased key as text (a key written in place is its text as written)."""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else str(value)


def _plain(text: str, mark: Any) -> Any:
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if text[0] not in _NUMERIC_START:
        return text
    if _INT.fullmatch(text):
        return _int(text, mark)
    if _FLOAT.fullmatch(text):
        return float(text)
    return _SPECIAL_FLOAT.get(text, text)


def _int(text: str, mark: Any) -> int:
    """An integer; refused where Python would not write it out in decimal (more digits than
    sys.get_int_max_str_digits(), 4,300 by default): else a message or a key made of it fails."""
    try:
        if not text.startswith(("0o", "0x")):
            return int(text)
        value = int(text[2:], 8 if text[1] == "o" else 16)  # no digit limit in these bases
        most = sys.get_int_max_str_digits()
        if most and value.bit_length() > 3 * most and value >= 10 ** most:
            raise ValueError(text)
        return value
    except ValueError:
        raise _Stop(mark, "digits", len(text)) from None


def _tagged(tag: str, text: str, mark: Any) -> Any:
    """A scalar tagged !!int, !!float, !!bool or !!null (any other tag is refused)."""
    want = _TAGGED.get(tag)
    if want is None:
        raise _Stop(mark, "tag", tag)
    value = _plain(text, mark) if text else (None if want is type(None) else text)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = _float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise _Stop(mark, "invalid", text, tag)
    return value


def _float(value: int) -> float:
    try:
        return float(value)
    except OverflowError:  # beyond a double's range, as float("1e999") is
        return float("inf") if value > 0 else float("-inf")


_TAGGED = {_CORE + "int": int, _CORE + "float": float, _CORE + "bool": bool, _CORE + "null": type(None)}


def _apply_merges(value: dict, kids: dict, merges: list) -> None:
    """``<<: *base`` (or a list of them): keys not written in the mapping come from the merged ones."""
    for merged, pos, key_mark in merges:
        sources = [(merged, pos)] if isinstance(merged, dict) else list(zip(merged, pos[1]))
        for src, src_pos in sources:
            if not isinstance(src, dict):
                raise _Stop(key_mark, "merge")
            for key, item in src.items():
                if key not in value:
                    value[key] = item
                    kids[key] = src_pos[1][key]


def _build_c(text: str) -> tuple[Any, Pos]:
    """_build in C (netlab/yamlc/build.c), with the bounds as they are now and this module's rules."""
    return _yamlc.build(text, MAX_DEPTH, MAX_VALUES, ALIAS_EXTRA, _HOOKS)


# what the C builder hands back: problems, numbers other than short decimals, tagged
# scalars, aliased keys, merges, and libyaml's errors raised as PyYAML raises them
_HOOKS = (_Stop, _int, _tagged, _key_text, _apply_merges, yaml.reader.ReaderError, yaml.MarkedYAMLError)
