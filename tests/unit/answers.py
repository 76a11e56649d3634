"""What validation answers a text: its problems as the CLI prints them."""

from __future__ import annotations

import pytest

from netlab import loader
from netlab.errors import TopologyError


def problems(text: str, source: str = "t.yaml") -> list[str]:
    """Every problem of ``text`` (it must have some), as file:line:col: field: message."""
    with pytest.raises(TopologyError) as info:
        loader.load_text(text, source)
    return [str(p) for p in info.value.problems]


def one(text: str) -> str:
    """The one problem of ``text``."""
    found = problems(text)
    assert len(found) == 1, found
    return found[0]
