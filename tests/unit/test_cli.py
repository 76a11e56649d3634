"""The CLI without root: validate, plan, schema, and error output for scripts."""

from __future__ import annotations

import json
import subprocess
import sys
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


_PROGRAM = """
import atexit, sys
atexit.register(lambda: sys.stdout.write("atexit ran\\n"))
sys.argv = ["netlab", *sys.argv[1:]]
from netlab.cli import main
main()
"""


def test_a_reader_command_ends_its_process_with_its_answer_written(tmp_path):
    """validate and plan, run as the program, skip the interpreter's teardown (no atexit
    handler runs) yet write their whole answer to a pipe and keep their exit code."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: lab\nnodes: 5\n")
    runs = {args: subprocess.run([sys.executable, "-c", _PROGRAM, *args], capture_output=True, text=True, check=False)
            for args in (("validate", str(TOPOS / "nat.yaml"), "--json"), ("validate", str(bad), "--json"),
                         ("plan", str(TOPOS / "nat.yaml")))}
    ok, wrong, planned = runs.values()
    assert ok.returncode == 0 and json.loads(ok.stdout)["ok"] is True
    assert wrong.returncode == 2 and json.loads(wrong.stdout)["problems"][0]["field"] == "nodes"
    assert planned.returncode == 0 and "ip netns add nl.nat.gw" in planned.stdout
    assert not any("atexit ran" in r.stdout for r in runs.values())
    listed = subprocess.run([sys.executable, "-c", _PROGRAM, "schema"], capture_output=True, text=True, check=False)
    assert listed.returncode == 0 and listed.stdout.rstrip().endswith("atexit ran")  # any other command exits as usual
