"""The C builder (netlab/yamlc/) against the Python one (yamlread._build), the
reference: for generated YAML texts — valid, mutated and hostile (anchors and
aliases, merges, tags, deep nesting, numbers past Python's digit limit, bad bytes),
read under tight and default bounds — both give equal data (types included), equal
positions (line and column of every value and key), or equal problems.

The builders run over two builds of libyaml: PyYAML's bundled one (0.2.6 here) and
the system's (Debian's 0.2.5). Where those differ, the builders cannot agree, and
only these cases are let through, each by its own narrow test (``_libyaml_differs``):
- a flow nested 1,000+ deep: 0.2.6 stops at its own nesting limit ("exceeded maximum
  nesting depth"), 0.2.5 has none, so netlab's own problem is found ("nested more than
  N levels deep", or one met before it such as "a key is a name, not a mapping");
- ``[ ? ]``, an explicit key closed at once by the end of a flow sequence: 0.2.5
  reads past the ``]`` (a libyaml bug, fixed in 0.2.6 by "Handle closing flow sequence
  after explicit key").
"""

from __future__ import annotations

import math
import os
import pickle
import re
import signal
import sys
import traceback
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from netlab import yamlread
from netlab.errors import TopologyError

pytestmark = pytest.mark.skipif(yamlread._yamlc is None, reason="netlab._yamlc is not built (it needs gcc and "
                                                                 "libyaml-dev when netlab is installed)")
# a fixed set of examples a property in `make unit`; a longer hunt (random each run):
# NETLAB_PROPERTY_EXAMPLES=20000 pytest tests/unit/test_yamlc.py
HUNT = int(os.environ.get("NETLAB_PROPERTY_EXAMPLES", "0"))
SETTINGS = settings(max_examples=HUNT or 400, deadline=timedelta(seconds=5), derandomize=not HUNT,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LIMITS = st.sampled_from([(64, 2_000_000, 100_000), (6, 300, 40), (3, 60, 5), (12, 2_000, 200)])


def shape(value):
    """A value with its type spelled out (True is not 1, 1.0 is not 1; nan equals nan)."""
    if isinstance(value, dict):
        return "map", tuple((k, shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return "seq", tuple(shape(v) for v in value)
    if isinstance(value, float):
        return "float", "nan" if math.isnan(value) else repr(value)
    return type(value).__name__, value


def where(pos):
    """Positions as (line, column) pairs, in the structure yamlread documents."""
    if type(pos) is not tuple:
        return pos.line, pos.column
    mark, kids = pos
    if isinstance(kids, dict):
        return where(mark), tuple((k, where(km), where(p)) for k, (km, p) in kids.items())
    return where(mark), tuple(where(p) for p in kids)


def answer(text: str, builder: str, limits: tuple[int, int, int]) -> tuple:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(yamlread, "BUILDER", builder)
        for name, value in zip(("MAX_DEPTH", "MAX_VALUES", "ALIAS_EXTRA"), limits):
            patch.setattr(yamlread, name, value)
        try:
            data, pos = yamlread.parse(text, "t.yaml")
        except TopologyError as exc:
            return "problems", [str(p) for p in exc.problems]
    return "ok", shape(data), where(pos)


def _libyaml_differs(text: str, python: tuple, c: tuple) -> bool:
    """The two libyaml builds' known differences (the module's docstring)."""
    if max(_flow_depths(text), default=0) >= 1000 and python[0] == c[0] == "problems" and \
            python[1][0].endswith("exceeded maximum nesting depth (while increasing flow level)"):
        return True  # and the C builder's answer is the first of netlab's own problems
    return re.search(r"\?\s*\]", text) is not None


def _flow_depths(text: str):
    depth = 0
    for ch in text:
        depth += (ch in "[{") - (ch in "]}")
        yield depth


def same(text: str, limits=(64, 2_000_000, 100_000)) -> None:
    python = answer(text, "python", limits)
    c = answer(text, "c", limits)
    if python != c and not _libyaml_differs(text, python, c):
        pytest.fail(f"the builders differ on {text[:300]!r} (limits {limits}):\n python: {str(python)[:600]}\n"
                    f" c:      {str(c)[:600]}")


# --- generated texts: a small tree of YAML nodes, written out in flow and block style

SCALARS = ["a", "h1", "eth0", "", "~", "null", "NULL", "Null", "true", "False", "yes", "on", "0", "-0", "012", "+12",
           "-7", "123456789012345678", "1234567890123456789", "-99999999999999999999", "0o17", "0o8", "0x1F", "0x",
           "0xg", "1_000", "1.5", "1.", ".5", "-.5e-3", "1e5", "1E+400", "1e", ".", "+", "-", ".inf", "-.Inf", "+.INF",
           ".nan", ".NaN", "nan", "inf", "198.18.0.1/24", "a b", "café", "日本", "<<", "x:y", "- a", "#", "1e-400",
           "9" * 4301, "9" * 4300, "0x" + "f" * 4000, "0o" + "7" * 300]
TAGS = [""] * 24 + ["!", "!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!binary", "!local",
                    "!<tag:yaml.org,2002:int>"]
CONTAINER_TAGS = [""] * 30 + ["!", "!!map", "!!seq", "!!str"]
ANCHORS = ["a", "b", "c"]
KEYS = ["name", "nodes", "a", "b", "<<", "5", "true", "", "k"]


def _props(tag: str, anchor: str | None) -> str:
    return " ".join(p for p in (f"&{anchor}" if anchor else "", tag) if p)


@st.composite
def scalars(draw, keys=False):
    text = draw(st.sampled_from(KEYS if keys and draw(st.booleans()) else SCALARS))
    style = draw(st.sampled_from(["plain", "plain", "single", "double"]))
    tag = draw(st.sampled_from(TAGS))
    anchor = draw(st.sampled_from([None, None, None, *ANCHORS]))
    return "scalar", text, style, tag, anchor


ALIASES = st.tuples(st.just("alias"), st.sampled_from([*ANCHORS, "zz"]))


def containers(children):
    props = st.tuples(st.sampled_from(CONTAINER_TAGS), st.sampled_from([None, None, *ANCHORS]), st.booleans())
    keys = st.integers(0, 11).flatmap(lambda i: children if i == 0 else ALIASES if i == 1 else scalars(keys=True))
    seqs = st.builds(lambda items, p: ("seq", items, *p), st.lists(children, max_size=4), props)
    maps = st.builds(lambda pairs, p: ("map", pairs, *p), st.lists(st.tuples(keys, children), max_size=4), props)
    return st.one_of(seqs, maps)


NODES = st.recursive(st.integers(0, 5).flatmap(lambda i: ALIASES if i == 0 else scalars()), containers, max_leaves=25)


def flow(node) -> str:
    kind = node[0]
    if kind == "alias":
        return f"*{node[1]}"
    if kind == "scalar":
        _, text, style, tag, anchor = node
        shown = {"plain": text, "single": "'" + text.replace("'", "''") + "'",
                 "double": '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'}[style]
        return " ".join(p for p in (_props(tag, anchor), shown) if p)
    _, items, tag, anchor, _ = node
    props = _props(tag, anchor)
    inner = ", ".join(flow(i) if kind == "seq" else f"{flow(i[0])}: {flow(i[1])}" for i in items)
    body = f"[{inner}]" if kind == "seq" else f"{{{inner}}}"
    return f"{props} {body}" if props else body


def block(node, indent: int) -> str:
    """A container in block style (its own lines), anything else in flow style."""
    if node[0] not in ("seq", "map") or node[4] is False or not node[1]:
        return " " * indent + flow(node) + "\n"
    kind, items, tag, anchor, _ = node
    out = ""
    for item in items:
        head, value = ("-", item) if kind == "seq" else (_key(item[0], indent) + ":", item[1])
        if value[0] in ("seq", "map") and value[4] and value[1]:
            props = _props(value[2], value[3])
            out += " " * indent + head + (" " + props if props else "") + "\n" + block(value, indent + 2)
        else:
            out += " " * indent + head + " " + flow(value) + "\n"
    return out


def _key(node, indent: int) -> str:
    return "? " + flow(node) + "\n" + " " * indent if node[0] in ("seq", "map") else flow(node)


def written(node) -> str:
    if node[0] in ("seq", "map") and node[4] and node[1]:
        props = _props(node[2], node[3])
        return (props + "\n" if props else "") + block(node, 0)
    return flow(node) + "\n"


NASTY = [":", "-", " ", "[", "]", "{", "}", ",", "&a ", "*a", "*b", "!!int ", "!x ", "?", "#", "'", '"', "\n",
         "\n  ", "\t", "\x07", "\x00", "\ufeff", "\x85", "\u2028", "é", "\r", "---\n", "...\n", "%YAML 1.1\n", "|",
         ">", "<<: *a\n", "\\", "@", "`", "\ud800", "\U0001f600"]
EDITS = st.lists(st.tuples(st.sampled_from(["insert", "delete", "copy"]), st.integers(0, 10**6),
                           st.integers(1, 12), st.sampled_from(NASTY)), max_size=3)


def mutated(text: str, edits) -> str:
    for op, at, size, piece in edits:
        at %= len(text) + 1
        if op == "insert":
            text = text[:at] + piece + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + size:]
        else:
            text = text[:at] + text[at:at + size] * 2 + text[at + size:]
    return text


@SETTINGS
@given(node=NODES, limits=LIMITS)
def test_the_builders_agree_on_generated_yaml(node, limits):
    same(written(node), limits)


@SETTINGS
@given(node=NODES, edits=EDITS, limits=LIMITS)
def test_the_builders_agree_on_mutated_yaml(node, edits, limits):
    same(mutated(written(node), edits), limits)


SOUP = st.lists(st.sampled_from(NASTY + ["a", "b", "1", "0x1", ".5", "<<", ": ", "- ", "\n- ", "\n  ", "&b ",
                                          "!!float ", "!!str ", "~", "true"]), max_size=40).map("".join)


@SETTINGS
@given(text=SOUP, limits=LIMITS)
def test_the_builders_agree_on_yaml_soup(text, limits):
    same(text, limits)


def _bomb(levels: int, fanout: int) -> str:
    names = [f"l{i}" for i in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [x, y]"]
    lines += [f"{names[i]}: &{names[i]} [{', '.join(['*' + names[i - 1]] * fanout)}]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


HOSTILE = st.one_of(
    st.builds(lambda n, o: "a: " + o * n + "x" + {"[": "]", "{": "}"}[o[0]] * n, st.integers(1, 1200),
              st.sampled_from(["[", "{", "{b: "])),
    st.builds(lambda n: "".join("  " * i + "- \n" for i in range(n)), st.integers(1, 80)),
    st.builds(lambda n: "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "x\n", st.integers(1, 80)),
    st.builds(_bomb, st.integers(1, 6), st.integers(1, 12)),
    st.builds(lambda n, tag: f"a: {tag} {n}\n",
              st.integers(-10**400, 10**400).map(str) | st.sampled_from(["9" * 5000, "-" + "9" * 4300]),
              st.sampled_from(["", "!!float", "!!int", "!!str"])),
    st.builds(lambda pre, bad, post: pre + bad + post, st.sampled_from(["a: ", "é: ", "日本:\n  - ", "a: 'x", "- \""]),
              st.sampled_from(["\x07", "\x00", "\x1b", "\ufffe", "\x85", "\x7f", "\ud800", "\t", "\r\n", "\u2028"]),
              st.sampled_from(["", "b\n", "\nc: d\n"])),
)


@SETTINGS
@given(text=HOSTILE, limits=LIMITS)
def test_the_builders_agree_on_hostile_yaml(text, limits):
    same(text, limits)


@pytest.mark.parametrize("text", [
    "", "# nothing\n", "---\n", "a\n", "- 1\n- 2\n", "a: 1\n---\nb: 2\n", "a: 1\nb: 2\na: 3\n",
    "base: &b {p: 1, q: 2}\nm: {<<: *b, q: 3}\nn: {<<: [*b, {r: 4}]}\nbad: {<<: [1]}\n",
    "a: &x [*x]\n", "a: *nowhere\n", "&k key: 1\n*k : 2\n", "a: &n 5\n*n : x\n", "a: &t true\n*t : x\n",
    "a: &v ~\n*v : x\n", "a: &f 1.5\n*f : x\n", "a: &m {}\n*m : x\n", "? [a]\n: 1\n", "{[a]: 1}\n",
    "a: !!binary aGk=\n", "a: !!python/object/apply:os.system [true]\n", "a: !!int '12'\nb: !!float 3\n",
    "a: !!float " + "9" * 400 + "\nb: !!float -" + "9" * 400 + "\n", "a: !!bool yes\n", "a: !!null ''\n",
    "a: ! 12\nb: ! '12'\n", "a: !!str 12\n", "!!map {a: 1}\n", "!!seq [a]\n", "!!set {a}\n",
    "a: " + "9" * 5000 + "\n", "a: 0x" + "f" * 4000 + "\n", "&a 0x" + "f" * 4000 + ": 1\n",
    "a: \x07\n", "é: \x07\n", "a: \ud800\n", "a:\tb\n", "a: [1, 2\n", "a: 'unclosed\n", "{a: 1, a: 2}\n",
    "a: 1\r\nb: [x,\r\n  y]\r\n", "a: 1\rb: 2\r", "\ufeffa: 1\n", "%YAML 1.2\n---\na: 1\n",
    "a: |\n  x\n  y\nb: >-\n z\n",
])
def test_the_builders_agree_on_chosen_cases(text):
    same(text)
    same(text, (3, 20, 4))


def test_a_float_tag_on_a_huge_integer_is_infinity(monkeypatch):
    for builder in ("python", "c"):
        monkeypatch.setattr(yamlread, "BUILDER", builder)
        data, _ = yamlread.parse("a: !!float " + "9" * 400 + "\nb: !!float -" + "9" * 400 + "\n", "t.yaml")
        assert data == {"a": float("inf"), "b": float("-inf")}


def test_a_hex_number_too_long_to_write_in_decimal_is_refused(monkeypatch):
    text = "a: 0x" + "f" * 4000 + "\n"
    with pytest.raises(TopologyError) as info:
        yamlread.parse(text, "t.yaml")
    assert str(info.value) == "t.yaml:1:4: (yaml): a number with 4,002 digits"
    monkeypatch.setattr(sys, "get_int_max_str_digits", lambda: 0)  # no limit: then no refusal
    assert yamlread.parse(text, "t.yaml")[0]["a"] == 16 ** 4000 - 1


def test_a_mark_is_small_and_plain():
    mark = yamlread._yamlc.Mark(3, 7)
    assert (mark.line, mark.column) == (3, 7) and repr(mark) == "Mark(line=3, column=7)"
    copy = pickle.loads(pickle.dumps(mark))
    assert (copy.line, copy.column) == (3, 7)
    with pytest.raises(AttributeError):
        mark.line = 4


def test_ctrl_c_interrupts_the_c_builder():
    def interrupt(*_):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.01)
        with pytest.raises(KeyboardInterrupt) as info:  # 2,000,001 values, ~0.4 s: far over 10 ms
            yamlread.parse("- x\n" * 2_000_000, "t.yaml", "c")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    # raised in the loop (the handler called from _build_c's C call): had the loop run to its
    # end, the handler would run in the first Python it calls, yamlread._Stop for "more than
    # 2,000,000 values"
    assert [frame.name for frame in traceback.extract_tb(info.value.__traceback__)][-2:] == ["_build_c", "interrupt"]
