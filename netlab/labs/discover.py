"""Find the labs: every folder of the shipped labs (or of $NETLAB_LABS) that holds a lab.yaml."""

from __future__ import annotations

import os
from pathlib import Path

from netlab import content
from netlab.errors import NetlabError, TopologyError, UsageError
from netlab.labs import spec as labspec
from netlab.labs.spec import LabSpec

ENV_DIR = "NETLAB_LABS"


def labs_dir() -> Path:
    """$NETLAB_LABS, else the labs netlab ships (netlab.content)."""
    if os.environ.get(ENV_DIR):
        return Path(os.environ[ENV_DIR])
    return content.labs_dir()


def _order(spec: LabSpec) -> tuple:
    return tuple(tuple(int(p) for p in c.split(".")) for c in spec.chapter), spec.name


def discover(root: Path | None = None) -> list[LabSpec]:
    """Every lab under ``root``, in book order; TopologyError lists every broken lab.yaml."""
    root = root or labs_dir()
    if not root.is_dir():
        raise NetlabError(f"no labs folder at {root} (set ${ENV_DIR} to the folder holding the labs)")
    specs, problems = [], []
    for path in sorted(root.glob("*/lab.yaml")):
        try:
            spec = labspec.load(path)
        except TopologyError as exc:
            problems += exc.problems
            continue
        if spec.name != path.parent.name:
            raise NetlabError(f"{path}: name {spec.name!r} must match its folder {path.parent.name!r}")
        specs.append(spec)
    if problems:
        raise TopologyError(problems)
    return sorted(specs, key=_order)


def find(name: str, root: Path | None = None) -> LabSpec:
    """The lab called ``name``; NetlabError naming the labs there are."""
    specs = discover(root)
    for spec in specs:
        if spec.name == name:
            return spec
    raise UsageError(f"no lab named {name!r}; labs: {', '.join(s.name for s in specs)}")
