"""Fixtures of the unit tests: each YAML builder in turn (yamlread.BUILDER)."""

from __future__ import annotations

import pytest

from netlab import yamlread


@pytest.fixture(params=["python", "c"])
def yaml_builder(request, monkeypatch) -> str:
    """The tests that use it read YAML with the Python builder, then with the C one."""
    if request.param == "c" and yamlread._yamlc is None:
        pytest.skip("netlab._yamlc is not built (it needs gcc and libyaml-dev when netlab is installed)")
    monkeypatch.setattr(yamlread, "BUILDER", request.param)
    return request.param
