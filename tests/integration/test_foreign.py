"""netlab never touches what it did not make: a namespace named like netlab's but carrying
no mark, and listed in no record of netlab's, is left alone and reported; a half-written
record of any form is shown by `list` and cleaned up by `down LAB` and `down --all`.

`down --all` is global, and other people's labs live on a shared machine: its test runs in a
child with private mount and network namespaces and a fresh tmpfs on /run, so it sees only
the namespaces and records the test made there (no /run/netns, /run/netlab or docker socket
of the machine's; its "root namespace" is the child's own, so the marked-link sweep too)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from netlab import loader, names, plan as planning, state
from netlab.backend import netns

pytestmark = pytest.mark.root
TOPOS = Path(__file__).parents[2] / "topologies"


def _netlab(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "netlab", *argv], capture_output=True, text=True, timeout=120)


def _ip_netns(*argv: str) -> None:
    subprocess.run(["ip", "netns", *argv], check=True, capture_output=True)


def _record_text(lab: str) -> str:
    """The record `up` writes for quickstart under ``lab``, before its first change."""
    topo = loader.load_text((TOPOS / "quickstart.yaml").read_text().replace("name: quickstart", f"name: {lab}"),
                            "quickstart.yaml")
    state.write(planning.build(topo), "building", {"kinds": {n: "netns" for n in topo.nodes}})
    with open(names.state_file(lab)) as fh:
        text = fh.read()
    state.remove(lab)
    return text


def test_an_unmarked_namespace_no_record_lists_is_left_alone(lab_name):
    ns = names.netns(lab_name, "h1")
    _ip_netns("add", ns)  # empty and unmarked: someone's own, named like netlab's
    try:
        listed = json.loads(_netlab("list", "--json").stdout)
        assert {"name": lab_name, "status": "orphaned", "source": "", "nodes": 1} in listed
        down = _netlab("down", lab_name, "--json")
        body = json.loads(down.stdout)
        assert down.returncode == 1 and not body["ok"], down.stdout
        assert any(ns in p and "left alone" in p for p in body["problems"]), body
        assert netns.exists(ns)
    finally:
        _ip_netns("delete", ns)


def test_an_unmarked_namespace_the_record_lists_is_removed(lab_name):
    text = _record_text(lab_name)
    with open(names.state_file(lab_name), "w") as fh:
        fh.write(text)
    ns = names.netns(lab_name, "h1")
    _ip_netns("add", ns)  # as if `up` was killed after making it, before marking it
    down = _netlab("down", lab_name, "--json")
    assert down.returncode == 0 and json.loads(down.stdout)["ok"], down.stdout
    assert not netns.exists(ns) and not state.exists(lab_name)


def _cut(text: str) -> str:
    """The record cut short just after its first namespace step."""
    return text[: text.index('"undo"', text.index("netns.create")) + 3]


HALF_WRITTEN = {
    "tmp, cut short": (".json.tmp", _cut),
    "json, cut short": (".json", _cut),
    "json, not JSON": (".json", lambda t: "\0\0\0garbage"),
    "json, not a record": (".json", lambda t: "[1, 2, 3]"),
    "json, empty": (".json", lambda t: ""),
}


@pytest.mark.parametrize("form", [*HALF_WRITTEN, "json, a FIFO"])
def test_a_half_written_record_is_listed_and_cleaned_up_by_down(lab_name, form):
    suffix, mangle = HALF_WRITTEN.get(form, (".json", None))
    path = names.STATE_DIR + f"/{lab_name}{suffix}"
    text = mangle(_record_text(lab_name)) if mangle else ""
    if mangle:
        with open(path, "w") as fh:
            fh.write(text)
    else:
        os.mkfifo(path)  # nobody writes to it: a reader that opened it plainly would wait for ever
    ns = names.netns(lab_name, "h1")
    lists_ns = f'"ns": "{ns}"' in text
    if lists_ns:
        _ip_netns("add", ns)  # made, then the writer was killed
    try:
        listed = {e["name"]: e for e in json.loads(_netlab("list", "--json").stdout)}
        assert listed[lab_name]["status"] == "half-written record", listed[lab_name]
        assert listed[lab_name]["source"] == os.path.basename(path)
        if suffix == ".json":  # `status` of every lab goes on past it, saying what it is
            views = {v["lab"]: v for v in json.loads(_netlab("status", "--json").stdout)}
            assert views[lab_name]["status"] == "half-written record" and "netlab down" in views[lab_name]["error"]
        down = _netlab("down", lab_name, "--json")
        assert down.returncode == 0 and json.loads(down.stdout)["ok"], down.stdout + down.stderr
        assert not os.path.exists(path) and not netns.exists(ns)
    finally:
        if netns.exists(ns):
            _ip_netns("delete", ns)


# In the child: the checks that this is an isolated world, then its objects, then `down --all`.
ISOLATED = r"""
import json, os, subprocess, sys
assert os.readlink("/proc/self/ns/mnt") != sys.argv[1] and os.readlink("/proc/self/ns/net") != sys.argv[2]
subprocess.run(["mount", "-t", "tmpfs", "netlab-test", "/run"], check=True)
os.makedirs("/run/netns"); os.makedirs("/run/netlab")
from netlab import deploy, loader, names
def ip(*a): subprocess.run(["ip", "netns", *a], check=True)
text = open(sys.argv[3]).read()
deploy.up(loader.load_text(text.replace("name: quickstart", "name: whole"), "q.yaml"))   # a lab that is up
ip("add", "nl.foreign.h1")                                                               # not netlab's
open("/run/netlab/tmponly.json.tmp", "w").write(sys.argv[4].replace("LAB", "tmponly"))  # killed writer
open("/run/netlab/cut.json", "w").write(sys.argv[4].replace("LAB", "cut"))
ip("add", "nl.cut.h1")                                                                   # listed in it
listed = json.loads(subprocess.run([sys.executable, "-m", "netlab", "list", "--json"], capture_output=True,
                                   text=True).stdout)
down = subprocess.run([sys.executable, "-m", "netlab", "down", "--all", "--json"], capture_output=True, text=True)
print(json.dumps({"listed": listed, "down": json.loads(down.stdout), "code": down.returncode,
                  "netns": sorted(os.listdir("/run/netns")), "records": sorted(os.listdir("/run/netlab"))}))
"""


def test_down_all_in_an_isolated_world():
    cut = _cut(_record_text("trecordtmpl"))
    cut = cut.replace("trecordtmpl", "LAB")
    env = dict(os.environ, DOCKER_HOST="unix:///run/docker.sock")  # in the fresh /run: no engine there
    out = subprocess.run(["unshare", "-m", "-n", "--propagation", "private", sys.executable, "-c", ISOLATED,
                          os.readlink("/proc/self/ns/mnt"), os.readlink("/proc/self/ns/net"),
                          str(TOPOS / "quickstart.yaml"), cut], capture_output=True, text=True, timeout=180, env=env)
    assert out.returncode == 0, out.stderr[-3000:]
    found = json.loads(out.stdout.splitlines()[-1])
    status = {e["name"]: e["status"] for e in found["listed"]}
    assert status == {"whole": "up", "tmponly": "half-written record", "cut": "half-written record",
                      "foreign": "orphaned"}, status
    assert found["code"] == 1 and sorted(found["down"]["down"]) == ["cut", "foreign", "tmponly", "whole"]
    (problem,) = found["down"]["problems"]
    assert "nl.foreign.h1" in problem and "left alone" in problem
    assert found["netns"] == ["nl.foreign.h1"] and found["records"] == []
