"""The CLI without root: validate, plan, schema, and error output for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
from ruamel.yaml import YAML
from typer.testing import CliRunner

from netlab.cli import app

TOPOS = Path(__file__).parents[2] / "topologies"
runner = CliRunner()


def test_validate_every_example():
    for path in sorted(TOPOS.glob("*.yaml")):
        result = runner.invoke(app, ["validate", str(path)])
        assert result.exit_code == 0, (path, result.output)
        assert "ok" in result.output


def test_validate_reports_problems_as_json(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: lab\nnodes:\n  a: {}\nlinks:\n  - [a:eth0, b:eth0]\n")
    result = runner.invoke(app, ["validate", str(bad), "--json"])
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body["ok"] is False
    (problem,) = body["problems"]
    assert problem["line"] == 5 and problem["field"] == "links[0].endpoints[1].node"
    assert problem["file"] == str(bad)


def test_plan_prints_steps_and_json():
    text = runner.invoke(app, ["plan", str(TOPOS / "nat.yaml")])
    assert text.exit_code == 0
    assert "ip netns add nl.nat.gw" in text.output
    as_json = json.loads(runner.invoke(app, ["plan", str(TOPOS / "nat.yaml"), "--json"]).stdout)
    assert as_json["lab"] == "nat" and as_json["steps"][0]["op"] == "netns.create"


def test_schema_accepts_every_example_and_rejects_a_typo():
    result = runner.invoke(app, ["schema"])
    schema = json.loads(result.stdout)
    yaml = YAML(typ="safe")
    for path in TOPOS.glob("*.yaml"):
        jsonschema.validate(yaml.load(path.read_text()), schema)
    bad = {"name": "x", "nodes": {"a": {}}, "linkz": []}
    try:
        jsonschema.validate(bad, schema)
    except jsonschema.ValidationError as exc:
        assert "linkz" in str(exc)
    else:
        raise AssertionError("schema accepted an unknown top-level key")


def test_down_needs_a_lab_or_all():
    result = runner.invoke(app, ["down"])
    assert result.exit_code != 0
    assert "give a lab name or --all" in result.output
