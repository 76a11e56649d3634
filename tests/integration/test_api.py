"""The Python API against the kernel: the example of docs/api.md as written, every call of
the Lab handle, and the lifecycle's promise — down at the end, on an exception, on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import netlab
from netlab import state
from netlab.cli import app
from tests.conftest import lab_leftovers

pytestmark = pytest.mark.root
ROOT = Path(__file__).resolve().parents[2]


def docs_example() -> str:
    text = (ROOT / "docs" / "api.md").read_text()
    return next(b for b in re.findall(r"```python\n(.*?)```", text, re.S) if "def main(" in b)


def two_nodes(lab: str, **link) -> netlab.Topology:
    return netlab.Topology(lab).node("a").node("b").link("a:eth0", "b:eth0", **link)


def test_the_docs_example_runs_against_the_kernel(lab_name):
    scope: dict = {"__name__": "docs_example"}
    exec(compile(docs_example(), "docs/api.md", "exec"), scope)
    scope["main"](lab_name)
    assert not lab_leftovers(lab_name)


def test_the_docs_example_runs_as_a_script(lab_name, tmp_path):
    script = tmp_path / "demo.py"
    script.write_text(docs_example())
    done = subprocess.run([sys.executable, str(script), lab_name], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert not lab_leftovers(lab_name)


def test_exec_popen_inside_call_and_addr(lab_name):
    with netlab.up(two_nodes(lab_name)) as lab:
        assert lab.nodes == ["a", "b"] and lab.addr("b") == "198.19.0.2"
        r = lab.exec("a", "echo out; echo err >&2; exit 3")
        assert (r.returncode, r.stdout, r.stderr, r.ok) == (3, "out\n", "err\n", False)
        assert lab.exec("a", ["cat"], input="typed").stdout == "typed"
        with pytest.raises(netlab.NetlabError, match="exited 1"):
            lab.exec("a", ["false"], check=True)
        with pytest.raises(subprocess.TimeoutExpired):
            lab.exec("a", ["sleep", "5"], timeout=0.2)
        ns_b = os.stat(f"/run/netns/nl.{lab_name}.b").st_ino
        assert lab.call("b", lambda: os.stat("/proc/thread-self/ns/net").st_ino) == ns_b
        with lab.inside("b"):
            assert os.stat("/proc/thread-self/ns/net").st_ino == ns_b
        assert os.stat("/proc/thread-self/ns/net").st_ino != ns_b
        sleeper = lab.popen("a", ["sleep", "300"])
        with pytest.raises(netlab.NetlabError, match="no node 'c'"):
            lab.exec("c", ["true"])
    assert sleeper.poll() is not None  # killed when the lab went down
    assert not state.exists(lab_name)


def test_an_exception_in_the_block_takes_the_lab_down(lab_name):
    with pytest.raises(RuntimeError, match="boom"):
        with netlab.up(two_nodes(lab_name)):
            raise RuntimeError("boom")
    assert not lab_leftovers(lab_name)


def test_a_lab_that_cannot_be_built_leaves_nothing(lab_name):
    topo = two_nodes(lab_name).node("c", sysctls={"net.ipv4.no_such_knob": 1})
    with pytest.raises(netlab.NetlabError):
        netlab.up(topo)
    assert not lab_leftovers(lab_name)


SCRIPT = """
import sys, time, netlab
lab = netlab.up(netlab.Topology(sys.argv[1]).node("a").node("b").link("a", "b"))
with lab:
    print("up", flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_takes_the_lab_of_a_script_down(lab_name, tmp_path, signum):
    script = tmp_path / "hold.py"
    script.write_text(SCRIPT)
    proc = subprocess.Popen([sys.executable, str(script), lab_name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline() == "up\n", proc.stderr.read()
        assert state.exists(lab_name)
        proc.send_signal(signum)
        proc.wait(30)
    finally:
        proc.kill()
    assert not lab_leftovers(lab_name)
    assert "Interrupt" in proc.stderr.read()


def test_attach_to_a_lab_the_cli_brought_up(lab_name, tmp_path):
    path = tmp_path / "lab.yaml"
    two_nodes(lab_name, rate="50mbit").to_yaml(path)
    up = CliRunner().invoke(app, ["up", str(path), "--json"])
    assert up.exit_code == 0, up.output
    try:
        with netlab.attach(lab_name) as lab:
            assert lab.topology is None and lab.addr("b") == "198.19.0.2"
            assert lab.exec("a", ["ping", "-c1", "-W2", lab.addr("b")]).ok
        assert state.exists(lab_name)  # an attached handle does not take the lab down
        view = json.loads(CliRunner().invoke(app, ["status", lab_name, "--json"]).stdout)
        assert netlab.attach(lab_name).status()["nodes"].keys() == view["nodes"].keys()
        eth0 = next(i for i in view["nodes"]["a"]["interfaces"] if i["name"] == "eth0")
        assert eth0["impairments"] == {"rate": "50mbit"}
    finally:
        assert netlab.attach(lab_name).down() == []
    assert not lab_leftovers(lab_name)
    with pytest.raises(netlab.NoSuchLab):
        netlab.attach(lab_name)


def test_replace_stale_takes_down_what_a_dead_run_left(lab_name, tmp_path):
    first = netlab.up(two_nodes(lab_name))
    with pytest.raises(netlab.LabExists):
        netlab.up(two_nodes(lab_name))
    gone = subprocess.Popen(["true"])
    gone.wait()
    record = Path(f"/run/netlab/{lab_name}.json")
    body = json.loads(record.read_text())
    body["extra"]["held_by"]["pid"] = gone.pid  # as if the process that held it had died
    record.write_text(json.dumps(body))
    with netlab.up(two_nodes(lab_name), replace_stale=True) as again:
        assert again.exec("a", ["true"]).ok
    first.down()
    assert not lab_leftovers(lab_name)
    cli_made = tmp_path / "lab.yaml"
    two_nodes(lab_name).to_yaml(cli_made)
    assert CliRunner().invoke(app, ["up", str(cli_made)]).exit_code == 0
    try:  # a lab `netlab up` made is meant to stay up: never taken for a leftover
        with pytest.raises(netlab.LabExists, match="no program holds it"):
            netlab.up(two_nodes(lab_name), replace_stale=True)
    finally:
        netlab.attach(lab_name).down()
