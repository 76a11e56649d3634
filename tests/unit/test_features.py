"""Impairment fields are validated before anything is probed or built."""

from __future__ import annotations

import re

import pytest

from netlab import loader, plan
from netlab.errors import TopologyError


def test_loss_and_delay_are_planned_per_end():
    topo = loader.load_text("name: l\nnodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a, b], loss: 1%, delay: 5ms}\n")
    ops = [s.op for s in plan.build(topo).steps]
    assert ops.count("loss.apply") == 2 and ops.count("qdisc.netem") == 2


@pytest.mark.parametrize("field, value, message", [
    ("loss", "150%", "not a loss percentage"),
    ("loss", "1", "not a loss percentage"),
    ("delay", "10", "not a delay (e.g. 10ms"),
    ("rate", "fast", "not a rate (e.g. 100mbit"),
])
def test_bad_impairments_are_named(field, value, message):
    with pytest.raises(TopologyError, match=rf"links\[0\]\.{field}: .*{re.escape(message)}"):
        loader.load_text(f"name: l\nnodes: {{a: {{}}, b: {{}}}}\nlinks:\n  - {{endpoints: [a, b], {field}: '{value}'}}\n")


def test_rate_and_delay_together_are_refused_clearly():
    with pytest.raises(TopologyError, match="not supported together"):
        loader.load_text("name: l\nnodes: {a: {}, b: {}}\nlinks:\n  - {endpoints: [a, b], rate: 1mbit, delay: 5ms}\n")
