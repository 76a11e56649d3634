"""YAML text → plain data (dicts, lists, text, numbers, booleans, None) and where
each value is written, within bounds, so that no file can make netlab hang or crash.

libyaml (through PyYAML) parses; this module builds the data from libyaml's events
in a loop. Why not a library's own loader: ruamel.yaml's and PyYAML's compose
recursively (a file nested 5,000 deep ended in RecursionError after 14 s), both
hand aliases back as shared objects that every later walk expands (an alias bomb
ran for minutes), and ruamel's pure-Python parser took ~60 s for 2.8 MB here
where libyaml takes ~1 s. Building from events lets each bound be checked as the
file is read: nesting depth, values after aliases are expanded, tags.

Values follow the YAML 1.2 core schema (``yes``/``on`` are text, ``012`` is 12;
no timestamps, no sexagesimal numbers); mapping keys are names, taken as written
(``5:`` is the key "5"). ``<<`` merge keys are supported, as most tools do.
"""

from __future__ import annotations

import contextlib
import gc
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from netlab.errors import Problem, TopologyError

MAX_DEPTH = 64  # a topology nests ~8 deep (nodes.h1.nat[0].to)
MAX_VALUES = 2_000_000  # after aliases are expanded: about what 8 MiB of flow-style YAML holds
ALIAS_EXTRA = 100_000  # aliases may add this many values, or 10x the values written if more

# Positions: a scalar is (line, col); a mapping (line, col, {key: (key line, key col, value pos)});
# a sequence (line, col, [item pos, ...]). Lines and columns count from 1.
Pos = tuple

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


class _Stop(Exception):
    def __init__(self, mark: Any, message: str):
        super().__init__(message)
        self.mark = mark
        self.message = message


@dataclass(slots=True)
class _Frame:
    """A mapping or sequence being built."""

    value: Any
    pos: Pos
    anchor: str | None
    expanded_at_start: int
    is_map: bool
    key: Any = None  # a mapping's pending key, and where it is written
    key_pos: tuple | None = None
    have_key: bool = False
    merges: list | None = None


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """The cyclic collector off for a while: reading makes a few objects per value and
    no reference cycles, and the collector, run again and again as they pile up, took
    ~40% of a 2.8 MB file's time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse(text: str, source: str) -> tuple[Any, Pos]:
    """(data, positions) of one YAML document; TopologyError at the place of any problem."""
    try:
        with gc_paused():
            return _Builder().build(text)
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


class _Builder:
    """Data from events, one loop, no recursion. Scalars, the bulk of any file,
    take the short path in ``build``; everything else its own method."""

    def __init__(self) -> None:
        self.stack: list[_Frame] = []
        self.anchors: dict[str, tuple[Any, Pos, int]] = {}  # anchor → (value, pos, expanded size)
        self.open_anchors: set[str] = set()
        self.written = 0  # values as written (scalars, containers, aliases)
        self.expanded = 0  # values once every alias is expanded
        self.result: Any = None
        self.result_pos: Pos = (1, 1)
        self.documents = 0

    def build(self, text: str) -> tuple[Any, Pos]:
        parser = _PARSER(text)
        check, get, stack, scalar_event = parser.check_event, parser.get_event, self.stack, yaml.ScalarEvent
        try:
            while check():
                ev = get()
                if type(ev) is not scalar_event:
                    self._event(ev)
                    continue
                self.written += 1
                self.expanded += 1
                mark = ev.start_mark
                pos = (mark.line + 1, mark.column + 1)
                top = stack[-1] if stack else None
                if top is not None and top.is_map and not top.have_key:
                    top.key, top.key_pos, top.have_key = ev.value, pos, True
                    if ev.anchor:
                        self.anchors[ev.anchor] = (self._scalar(ev), pos, 1)
                    continue
                value = _plain(ev.value, mark) if ev.tag is None and ev.implicit[0] else self._scalar(ev)
                if ev.anchor:
                    self.anchors[ev.anchor] = (value, pos, 1)
                if top is not None and not top.is_map:
                    top.value.append(value)
                    top.pos[2].append(pos)
                else:
                    self._place(value, pos)
        finally:
            parser.dispose()
        return self.result, self.result_pos

    # -- events other than scalars ----------------------------------------------------
    def _event(self, ev: Any) -> None:
        kind = type(ev)
        if kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            self._start(ev, kind is yaml.MappingStartEvent)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            self._end(ev)
        elif kind is yaml.AliasEvent:
            self._alias(ev)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise _Stop(ev.start_mark, "a second YAML document (---): a topology is one document")

    def _check_size(self, ev: Any) -> None:
        if self.expanded > MAX_VALUES:
            raise _Stop(ev.start_mark, f"more than {MAX_VALUES:,} values (after aliases are expanded)")
        if self.expanded - self.written > max(ALIAS_EXTRA, 10 * self.written):
            raise _Stop(ev.start_mark, f"aliases expand to {self.expanded:,} values from {self.written:,} written "
                                       "(an alias bomb?); netlab allows "
                                       f"{ALIAS_EXTRA:,} more, or ten times the values written")

    def _start(self, ev: Any, is_map: bool) -> None:
        if len(self.stack) >= MAX_DEPTH:
            raise _Stop(ev.start_mark, f"nested more than {MAX_DEPTH} levels deep")
        _check_tag(ev, _CORE + ("map" if is_map else "seq"))
        if self.stack and self.stack[-1].is_map and not self.stack[-1].have_key:
            raise _Stop(ev.start_mark, "a key is a name, not a " + ("mapping" if is_map else "list"))
        self.written += 1
        self.expanded += 1
        self._check_size(ev)
        if ev.anchor:
            self.open_anchors.add(ev.anchor)
        line, col = ev.start_mark.line + 1, ev.start_mark.column + 1
        self.stack.append(_Frame({} if is_map else [], (line, col, {} if is_map else []), ev.anchor,
                                 self.expanded - 1, is_map))

    def _end(self, ev: Any) -> None:
        self._check_size(ev)
        frame = self.stack.pop()
        if frame.merges:
            _apply_merges(frame)
        if frame.anchor:
            self.open_anchors.discard(frame.anchor)
            self.anchors[frame.anchor] = (frame.value, frame.pos, self.expanded - frame.expanded_at_start)
        self._place(frame.value, frame.pos)

    def _alias(self, ev: Any) -> None:
        if ev.anchor in self.open_anchors:
            raise _Stop(ev.start_mark, f"alias *{ev.anchor} is inside the node it names (a cycle)")
        if ev.anchor not in self.anchors:
            raise _Stop(ev.start_mark, f"alias *{ev.anchor} names no anchor (&{ev.anchor}) before it")
        value, pos, size = self.anchors[ev.anchor]
        self.written += 1
        self.expanded += size
        self._check_size(ev)
        top = self.stack[-1] if self.stack else None
        if top is not None and top.is_map and not top.have_key:
            if isinstance(value, (dict, list)):
                raise _Stop(ev.start_mark, "a key is a name, not a mapping or list")
            top.key, top.have_key = _key_text(value), True
            top.key_pos = (ev.start_mark.line + 1, ev.start_mark.column + 1)
            return
        self._place(value, pos)

    # -- building -------------------------------------------------------------------
    def _place(self, value: Any, pos: Pos) -> None:
        if not self.stack:
            self.result, self.result_pos = value, pos
            return
        top = self.stack[-1]
        if not top.is_map:
            top.value.append(value)
            top.pos[2].append(pos)
            return
        key, kpos = top.key, top.key_pos
        top.have_key = False
        if key == "<<" and isinstance(value, (dict, list)):
            top.merges = (top.merges or []) + [(value, pos, kpos)]
            return
        if key in top.value:
            first = top.pos[2][key]
            raise _Stop(_Mark(kpos), f"duplicate key {key!r} (first at line {first[0]}, column {first[1]})")
        top.value[key] = value
        top.pos[2][key] = (kpos[0], kpos[1], pos)

    @staticmethod
    def _scalar(ev: Any) -> Any:
        if ev.tag in (None, "!") and ev.implicit[0]:
            return _plain(ev.value, ev.start_mark)
        if ev.tag in (None, "!", _CORE + "str"):
            return ev.value
        _check_tag(ev, None)
        return _tagged(ev.tag, ev.value, ev.start_mark)


class _Mark:
    """A libyaml-like mark for a position kept as (line, col)."""

    def __init__(self, pos: tuple) -> None:
        self.line, self.column = pos[0] - 1, pos[1] - 1


def _check_tag(ev: Any, container_tag: str | None) -> None:
    tag = ev.tag
    if tag in (None, "!") or tag == container_tag or (container_tag is None and tag in _TAGGED):
        return
    shown = tag.replace(_CORE, "!!")
    raise _Stop(ev.start_mark, f"tag {shown} is not supported (a topology holds text, numbers, booleans, "
                               "null, lists and mappings)")


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
    try:
        if text.startswith(("0o", "0x")):
            return int(text[2:], 8 if text[1] == "o" else 16)
        return int(text)
    except ValueError:  # more digits than Python converts (4,300)
        raise _Stop(mark, f"a number with {len(text):,} digits") from None


def _tagged(tag: str, text: str, mark: Any) -> Any:
    want = _TAGGED[tag]
    value = _plain(text, mark) if text else (None if want is type(None) else text)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, want) or (want is int and isinstance(value, bool)):
        raise _Stop(mark, f"{text!r} is not a valid {tag.replace(_CORE, '!!')}")
    return value


_TAGGED = {_CORE + "int": int, _CORE + "float": float, _CORE + "bool": bool, _CORE + "null": type(None)}


def _apply_merges(frame: _Frame) -> None:
    """``<<: *base`` (or a list of them): keys not written in the mapping come from the merged ones."""
    for value, pos, kpos in frame.merges:
        sources = [(value, pos)] if isinstance(value, dict) else list(zip(value, pos[2]))
        for src, src_pos in sources:
            if not isinstance(src, dict):
                raise _Stop(_Mark(kpos), "<< merges mappings: its value is a mapping or a list of mappings")
            for key, item in src.items():
                if key not in frame.value:
                    frame.value[key] = item
                    frame.pos[2][key] = src_pos[2][key]
