"""Regression corpus: files that once broke netlab (a traceback, a hang) or that
each kernel limit refuses, with what their answer must say (tests/corpus/expected.txt).

Each is read the way the CLI reads it (``loader.load`` on the path), so the
reader's checks (encodings, bytes) are in play too. Add a file and a line when
the property test or a user finds a new failure.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from netlab import loader
from netlab.errors import TopologyError

CORPUS = Path(__file__).parents[1] / "corpus"
pytestmark = pytest.mark.usefixtures("yaml_builder")  # every file read with each YAML builder


def _expected() -> list[tuple[str, str]]:
    lines = (CORPUS / "expected.txt").read_text().splitlines()
    return [tuple(line.split("\t", 1)) for line in lines if line and not line.startswith("#")]


def test_every_corpus_file_is_listed():
    listed = {name for name, _ in _expected()}
    assert listed == {p.name for p in CORPUS.glob("*.yaml")}


@pytest.mark.parametrize("name, expected", _expected())
def test_corpus_file_gets_its_answer(name, expected, monkeypatch):
    monkeypatch.chdir(CORPUS.parent)  # problems then name the file as corpus/<name>
    started = time.monotonic()
    if expected == "ok":
        loader.load(Path("corpus") / name)
        return
    with pytest.raises(TopologyError) as info:
        loader.load(Path("corpus") / name)
    assert time.monotonic() - started < 10  # an answer, not a hang (not a speed target)
    text = str(info.value)
    # alternatives: the answer of PyYAML's libyaml or of the system's (the C builder's) where the two
    # differ, e.g. a flow nested 1,000+ deep (tests/unit/test_yamlc.py)
    assert any(e in text for e in expected.split(" | ")), text
    assert all(str(p).startswith(f"corpus/{name}") for p in info.value.problems)
