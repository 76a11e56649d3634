"""netlab as a wheel: built from the tree, installed into a fresh virtual environment
outside the checkout, it finds its labs and topologies and runs them. The wheel is built
offline with the project venv's setuptools, and the new environment sees the project
venv's packages (its dependencies) after its own, so nothing is downloaded."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import lab_leftovers

pytestmark = [pytest.mark.root, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]
# *.so: the editable install's build of the C extension, which the wheel must build itself
SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "out", "*.egg-info", "__pycache__", ".pytest_cache",
                              "*.so")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The bin/ of a fresh venv holding netlab from a wheel of this tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    tree = tmp / "tree"
    shutil.copytree(ROOT, tree, ignore=SKIP)  # built from a copy: the checkout stays as it is
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(tmp / "dist"), str(tree)], check=True, timeout=300)
    (wheel,) = (tmp / "dist").glob("netlab_kernel-*.whl")
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # pip of the project venv installs into the new one (its own console script, its own python)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, timeout=300)
    new_site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
    # the dependencies: the project venv's packages, seen after the wheel's own
    (new_site / "project-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv / "bin"


def run(bin_dir: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NETLAB_", "PYTHON"))}
    return subprocess.run([str(bin_dir / "netlab"), *args], capture_output=True, text=True, timeout=timeout,
                          cwd="/", env=env)


def test_the_wheel_carries_the_labs_and_topologies(installed):
    where = subprocess.run([str(installed / "python"), "-c", "import netlab, netlab.content as c; "
                            "print(netlab.__file__); print(c.labs_dir()); print(c.topologies_dir())"],
                           capture_output=True, text=True, check=True, cwd="/").stdout.split()
    assert all(not p.startswith(str(ROOT)) for p in where), where  # nothing comes from the checkout
    listed = json.loads(run(installed, "lab", "list", "--json").stdout)
    shipped = sorted(p.parent.name for p in (ROOT / "labs").glob("*/lab.yaml"))
    assert sorted(lab["name"] for lab in listed) == shipped


def test_the_wheel_carries_the_yaml_reader_in_c(installed):
    (wheel,) = (installed.parent.parent / "dist").glob("netlab_kernel-*.whl")
    with zipfile.ZipFile(wheel) as whl:
        assert any(re.fullmatch(r"netlab/_yamlc\.[^/]+\.so", name) for name in whl.namelist()), whl.namelist()
    builder = subprocess.run([str(installed / "python"), "-c", "from netlab import yamlread, _yamlc; "
                              "print(yamlread.BUILDER, _yamlc.__file__)"],
                             capture_output=True, text=True, check=True, cwd="/").stdout.split()
    assert builder[0] == "c" and not builder[1].startswith(str(ROOT)), builder


def test_an_installed_netlab_runs_a_lab(installed):
    done = run(installed, "lab", "run", "loopback-vs-nic", "--short", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    (lab,) = json.loads(done.stdout)["labs"]
    assert lab["verdict"] == "pass" and not lab_leftovers(lab["run_name"])


def test_an_installed_bench_paths_finds_its_topology(installed, lab_name):
    done = run(installed, "bench", "paths", "--paths", "loopback,veth", "--metric", "rr", "--rounds", "1",
               "--seconds", "0.1", "--engine", "builtin", "--no-poll-idle", "--lab", lab_name, "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    rows = {r["name"]: r for r in json.loads(done.stdout)["paths"]}
    assert rows["veth"]["rr_tps"] > 0 and "error" not in rows["veth"]
