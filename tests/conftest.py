"""Shared fixtures: unique lab names, labs built for a test, and the check that
every test leaves the machine as it found it."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import uuid

import pytest

import netlab
from netlab import deploy, loader, names, state
from netlab.backend import netns

IS_ROOT = os.geteuid() == 0


def pytest_addoption(parser):
    parser.addoption("--full", action="store_true",
                     help="also run the tests marked `full` (every lab's full form: `make labs`, minutes each)")


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--full"):  # the slow tier: `make labs` (and `make bench`) run it, `make test` not
        full = [item for item in items if "full" in item.keywords]
        if full:
            config.hook.pytest_deselected(items=full)
            items[:] = [item for item in items if "full" not in item.keywords]
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


def _ancestors(pid: int) -> set[int]:
    """``pid`` and the processes it descends from."""
    found = set()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            with open(f"/proc/{pid}/stat") as fh:
                pid = int(fh.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return found


def _someone_elses(lab: str) -> bool:
    """True if ``lab`` is up under a live process outside this test run (a shared machine:
    other people's labs come and go while the suite runs)."""
    try:
        if not stat.S_ISREG(os.lstat(names.state_file(lab)).st_mode):  # never open a FIFO: it would block
            return False
        with open(names.state_file(lab)) as fh:
            pid = json.load(fh).get("pid")
    except (OSError, ValueError, AttributeError):  # no record, or a half-written one: not provably another's
        return False
    return isinstance(pid, int) and os.getpid() not in _ancestors(pid) and os.path.exists(f"/proc/{pid}")


@pytest.fixture(scope="session", autouse=True)
def fresh_compile_cache(tmp_path_factory):
    """Labs' C helpers compile into a cache of this run's own: a binary some earlier run
    left in ~/.cache never stands in for a compile this machine could not do."""
    from netlab import cbuild

    old = os.environ.get(cbuild.CACHE_ENV)
    os.environ[cbuild.CACHE_ENV] = str(tmp_path_factory.mktemp("netlab-cache"))
    yield
    if old is None:
        os.environ.pop(cbuild.CACHE_ENV, None)
    else:
        os.environ[cbuild.CACHE_ENV] = old


@pytest.fixture(scope="session", autouse=True)
def machine_left_as_found():
    """After the whole run: no netlab namespace or marked root-namespace link that was
    not there before the run (and is not a live lab of a process outside the run)."""
    before_ns = set(netns.listing()) if IS_ROOT else set()
    before_links = {n for n, _ in _root_links()}
    yield
    if not IS_ROOT:
        return
    new_ns = [ns for ns in set(netns.listing()) - before_ns
              if (owner := names.parse_netns(ns)) and not _someone_elses(owner[0])]
    new_links = [n for n, a in _root_links() if n not in before_links and (owner := names.parse_mark(a))
                 and not _someone_elses(owner[0])]
    assert not new_ns and not new_links, f"the test run left: {new_ns + new_links}"
