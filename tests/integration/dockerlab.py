"""Fixtures for the docker tests: an engine (started with scripts/start-dockerd.sh when
none answers, stopped at the end only if this run started it), a busybox image made
locally, and the check that a test leaves no container of its lab behind.

Test modules import the fixtures they use: ``from .dockerlab import docker_api, busybox``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from netlab import deploy, state
from netlab.backend import docker as engine

ROOT = Path(__file__).resolve().parents[2]
START = ROOT / "scripts" / "start-dockerd.sh"


def _start_engine() -> tuple[bool, str]:
    """(started by us, why not) — ensure an engine answers, starting dockerd if needed."""
    if shutil.which("dockerd") is None and shutil.which("docker") is None:
        return False, "no Docker engine: neither dockerd nor docker is installed (`make install` installs docker.io)"
    try:
        out = subprocess.run([str(START), "start"], capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return False, "no Docker engine: dockerd did not answer within 120 s"
    if out.returncode != 0:
        return False, f"no Docker engine could be started here: {out.stderr.strip()[-500:]}"
    return out.stdout.startswith("started"), ""


@pytest.fixture(scope="session")
def docker_api():
    """A Docker SDK client of a running engine; the test is skipped, with the reason,
    only where no engine can be had."""
    if os.geteuid() != 0:
        pytest.skip("needs root: starts containers and plumbs their namespaces")
    started, why = _start_engine()
    if why:
        pytest.skip(why)
    api = engine.client()
    yield api
    api.close()
    if started:
        subprocess.run([str(START), "stop"], capture_output=True, timeout=120)


@pytest.fixture(scope="session")
def busybox(docker_api) -> str:
    """netlab/busybox (sh, sleep, httpd, nc, ip, ping…), made locally once."""
    return engine.busybox_image(docker_api)


@pytest.fixture
def no_container_left(docker_api, lab_name):
    """After the test: no container of the lab, whether `down` ran or not."""
    yield
    if state.exists(lab_name):
        deploy.down(lab_name)
    left = [c.name for c in engine.ours(docker_api, lab_name)]
    for c in engine.ours(docker_api, lab_name):
        c.remove(force=True)
    assert not left, f"containers left behind: {left}"
