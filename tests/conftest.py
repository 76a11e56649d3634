"""Shared fixtures: unique lab names, labs built for a test, and the check that
every test leaves the machine as it found it."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest

import netlab
from netlab import deploy, loader, names, state
from netlab.backend import netns

IS_ROOT = os.geteuid() == 0


def pytest_collection_modifyitems(config, items):
    if IS_ROOT:
        return
    skip = pytest.mark.skip(reason="needs root: builds real namespaces (run `sudo make test`)")
    for item in items:
        if "root" in item.keywords:
            item.add_marker(skip)


def lab_leftovers(lab: str) -> list[str]:
    """Everything of ``lab`` still on the machine: namespaces, state, marked root-ns links."""
    found = [f"netns {ns}" for ns in netns.listing() if (names.parse_netns(ns) or ("",))[0] == lab]
    for path in (names.state_file(lab), names.state_file(lab) + ".tmp"):
        if os.path.exists(path):
            found.append(f"state {path}")
    found += [f"link {name}" for name, alias in _root_links() if (names.parse_mark(alias) or ("",))[0] == lab]
    return found


def _root_links() -> list[tuple[str, str | None]]:
    out = subprocess.run(["ip", "-o", "-d", "link", "show"], capture_output=True, text=True).stdout
    links = []
    for line in out.splitlines():
        name = line.split(": ", 2)[1].split("@")[0]
        alias = line.split(" alias ", 1)[1].split()[0] if " alias " in line else None
        links.append((name, alias))
    return links


@pytest.fixture
def lab_name() -> str:
    """A lab name no other test (or concurrent run) uses; checked clean afterwards."""
    name = f"t{uuid.uuid4().hex[:10]}"
    yield name
    if state.exists(name):
        deploy.down(name)
        pytest.fail(f"test left lab {name} up (taken down by the fixture)")
    left = lab_leftovers(name)
    assert not left, f"left behind: {left}"


@pytest.fixture
def build(lab_name):
    """build(topology) → the validated model of a lab brought up under the test's unique
    name, down at the end. ``topology``: YAML text, a mapping, or a netlab.Topology; its
    own `name` is replaced by the fixture's lab name."""
    made: list[netlab.Lab] = []

    def _build(topology):
        if isinstance(topology, str):  # read as `netlab up` reads a file
            topology, _ = loader.read_mapping(topology, "<test>", "a topology is a mapping")
        if isinstance(topology, netlab.Topology):
            topology = topology.renamed(lab_name)
        else:
            topology = netlab.from_dict({"name": lab_name, **topology}, name=lab_name)
        made.append(netlab.up(topology))
        return made[-1].topology

    yield _build
    for lab in made:
        lab.down()


@pytest.fixture(scope="session", autouse=True)
def machine_left_as_found():
    """After the whole run: no netlab namespace or marked root-namespace link that was
    not there before the run."""
    before_ns = set(netns.listing()) if IS_ROOT else set()
    before_links = {n for n, _ in _root_links()}
    yield
    if not IS_ROOT:
        return
    new_ns = [ns for ns in set(netns.listing()) - before_ns if names.parse_netns(ns)]
    new_links = [n for n, a in _root_links() if n not in before_links and names.parse_mark(a)]
    assert not new_ns and not new_links, f"the test run left: {new_ns + new_links}"
