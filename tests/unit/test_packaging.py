"""The packages pyproject.toml ships are every package of the tree, and the shipped
content is found through importlib.resources."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

from netlab import content

ROOT = Path(__file__).resolve().parents[2]


def test_pyproject_lists_every_package_under_netlab():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    tree = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "netlab").rglob("__init__.py")}
    mapped = set(config["package-dir"])
    assert set(config["packages"]) == tree | mapped, (
        "add the new package to [tool.setuptools] packages in pyproject.toml (package-dir needs the list)")
    assert {config["package-dir"][p] for p in mapped} == {"labs", "topologies"}


def test_the_content_is_the_repository_s_labs_and_topologies_in_a_checkout():
    assert content.labs_dir().resolve() == (ROOT / "labs").resolve()
    assert content.topologies_dir().resolve() == (ROOT / "topologies").resolve()
    assert (content.topologies_dir() / "paths.yaml").is_file()


def test_the_yaml_reader_in_c_is_declared_optional_and_rebuilt_when_changed():
    (ext,) = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["ext-modules"]
    assert ext["name"] == "netlab._yamlc" and ext["optional"] is True and ext["libraries"] == ["yaml"]
    for src in ext["sources"] + ext["depends"]:
        assert (ROOT / src).is_file()
        # a newer source makes `make install` rebuild (-q: only say whether anything is out of date)
        assert subprocess.run(["make", "-q", "-W", src, "install"], cwd=ROOT).returncode == 1, src
    assert "libyaml-dev" in (ROOT / "scripts" / "install-system.sh").read_text()
