"""`netlab bench validate` runs without root and reports every measurement (figures
come from `make bench`, never from a timed unit test)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netlab import loader
from netlab.bench import validate
from netlab.cli import app
from netlab.errors import TopologyError


def test_generated_shapes_are_valid_topologies():
    assert len(loader.load_text(validate.star(2500)).bridges) == 3  # at most 1,000 members a bridge
    assert len(loader.load_text(validate.chain(300)).veths) == 299


def test_every_hostile_file_is_refused():
    for name, text in validate.hostile(300).items():
        with pytest.raises(TopologyError):
            loader.load_text(text)
    bad = validate.hostile(300)
    assert bad["chain: every address /33"].count("/33\n") == 598
    lost = bad["chain: links name lost nodes"]
    assert "\n  m299: {}" in lost and "\n  n299: {}" not in lost and "node: n299" in lost


def test_bench_validate_reports_each_stage_and_each_hostile_file():
    result = CliRunner().invoke(app, ["bench", "validate", "--sizes", "40", "--rounds", "1", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [(r["shape"], r["nodes"]) for r in body["valid"]] == [("star", 41), ("chain", 40)]
    for r in body["valid"]:
        assert all(r[stage]["median_s"] >= 0 for stage in ("read", "parse", "parse_python", "check", "whole", "plan",
                                                            "cli"))
    assert set(body["hostile"]) == set(validate.hostile(40))
    assert all(r["cli"]["median_s"] > 0 for r in body["hostile"].values())
    assert body["python"]["median_s"] > 0
    assert body["yaml_builder"] == validate.yaml_builder() and body["yaml_builder"].split()[0] in ("c", "python")
