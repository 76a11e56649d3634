"""The `docker` path of `netlab bench paths`: a netns host to a container on a
bridge, measured end to end by the built-in engine (it enters the container's
namespace by the name netlab gave it), and nothing left behind."""

from __future__ import annotations

import pytest

from netlab.backend import docker as engine
from netlab.bench.paths import run_paths, runner
from tests.conftest import lab_leftovers

from .dockerlab import busybox, docker_api  # noqa: F401  (fixtures)

pytestmark = [pytest.mark.root, pytest.mark.docker, pytest.mark.slow]


def test_docker_path_is_measured_beside_the_bridge(lab_name, busybox, docker_api):
    res = run_paths(paths=["bridge", "docker"], rounds=1, seconds=0.1, lab=lab_name)
    rows = {r["name"]: r for r in res["paths"]}
    assert set(rows) == {"bridge", "docker"}
    docker = rows["docker"]
    assert "error" not in docker and not docker["errors"] and docker["agree"] is True, docker
    assert docker["rr_tps"] > 0 and docker["crr_cps"] > 0 and docker["stream_gbps"] > 0
    lab = runner.lab_name(lab_name, "paths-docker.yaml")
    assert not lab_leftovers(lab) and not engine.ours(docker_api, lab)
