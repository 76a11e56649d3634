"""`netlab bench validate` runs without root and reports every measurement (figures
come from `make bench`, never from a timed unit test)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from netlab import loader
from netlab.bench import validate
from netlab.cli import app


def test_generated_shapes_are_valid_topologies():
    assert len(loader.load_text(validate.star(2500)).bridges) == 3  # at most 1,000 members a bridge
    assert len(loader.load_text(validate.chain(300)).veths) == 299


def test_bench_validate_reports_each_stage_and_each_hostile_file():
    result = CliRunner().invoke(app, ["bench", "validate", "--sizes", "40", "--rounds", "1", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [(r["shape"], r["nodes"]) for r in body["valid"]] == [("star", 41), ("chain", 40)]
    for r in body["valid"]:
        assert all(r[stage]["median_s"] >= 0 for stage in ("read", "parse", "parse_python", "check", "whole", "plan",
                                                            "cli"))
    assert set(body["hostile"]) == set(validate.hostile())
    assert all(r["cli"]["median_s"] > 0 for r in body["hostile"].values())
    assert body["python"]["median_s"] > 0
    assert body["yaml_builder"] == validate.yaml_builder() and body["yaml_builder"].split()[0] in ("c", "python")
