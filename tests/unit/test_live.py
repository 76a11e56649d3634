"""Live changes without root: which end is which, what a change plans, what it refuses,
and the CLI's arguments."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from netlab import live, loader, plan
from netlab.cli import app
from netlab.errors import NetlabError
from netlab.state import LabState

LAB = """\
name: lv
nodes: {a: {}, b: {}, sw: {}}
links:
  - {endpoints: [a:eth0, b:eth0], rate: 20mbit, loss: 10%}
bridges:
  br0: {node: sw, members: [a:eth1]}
"""


def record(extra: dict | None = None) -> LabState:
    topo = loader.load_text(LAB)
    the_plan = plan.build(topo)
    kinds = {n: s.kind for n, s in topo.nodes.items()}
    return LabState("lv", "<test>", "up", the_plan.steps, {"kinds": kinds, **(extra or {})})


def test_every_veth_end_is_found_with_its_peer():
    ends = live.ends(record())
    assert {"a:eth0", "b:eth0", "a:eth1"} <= set(ends)
    a = ends["a:eth0"]
    assert (a.ns, a.peer_ns, a.peer_name) == ("nl.lv.a", "nl.lv.b", "eth0")
    port = ends["a:eth1"]
    assert port.peer_ns == "nl.lv.sw" and port.peer_name.startswith("nlp") and port.peer_name in ends[
        f"sw:{port.peer_name}"].name


def test_an_end_starts_with_the_file_s_impairments_and_live_changes_win():
    rec = record()
    assert live.current(rec, live.ends(rec)["a:eth0"]) == {"state": "up", "rate": "20mbit", "loss": "10%"}
    rec = record({"live": {"a:eth0": {"state": "down", "rate": None, "loss": "1%"}}})
    assert live.current(rec, live.ends(rec)["a:eth0"]) == {"state": "down", "loss": "1%"}


def test_a_change_plans_only_what_differs_and_loss_goes_on_the_peer_s_ingress():
    end = live.ends(record())["a:eth0"]
    steps = live._steps(end, {"rate": "20mbit", "loss": "10%"}, {"rate": "5mbit", "loss": "10%"})
    assert [(s.op, s.args) for s in steps] == [("qdisc.tbf", {"ns": "nl.lv.a", "dev": "eth0", "rate": "5mbit"})]
    steps = live._steps(end, {"rate": "20mbit", "loss": "10%"}, {})
    assert [s.op for s in steps] == ["qdisc.delete", "loss.delete"]
    assert steps[1].args == {"ns": "nl.lv.b", "dev": "eth0"}
    steps = live._steps(end, {}, {"loss": "5%"})
    assert [(s.op, s.args["ns"], s.args["loss"]) for s in steps] == [("loss.apply", "nl.lv.b", "5%")]


def test_loss_towards_the_real_host_is_refused():
    host_end = live.End("h", "eth0", "nl.lv.h", None, "nlhost0")
    with pytest.raises(NetlabError, match="real host's namespace"):
        live._steps(host_end, {}, {"loss": "5%"})


def test_values_are_checked_as_a_file_s_are():
    with pytest.raises(NetlabError, match=r"a:eth0: rate: '5x' is not a rate \(e.g. 100mbit"):
        live._checked("a:eth0", {"rate": "5x"})
    with pytest.raises(NetlabError, match="not supported together"):
        live._checked("a:eth0", {"rate": "5mbit", "delay": "10ms"})
    assert live._checked("a:eth0", {"loss": "2.5%", "rate": None}) == {"loss": "2.5%"}


def test_cli_arguments():
    runner = CliRunner()
    bad = runner.invoke(app, ["link", "nolab", "a:eth0", "sideways"])
    assert bad.exit_code == 2 and "say up or down" in bad.stderr
    both = runner.invoke(app, ["impair", "nolab", "a:eth0", "--show", "--rate", "1mbit"])
    assert both.exit_code == 2 and "--show changes nothing" in both.stderr
    missing = runner.invoke(app, ["impair", "nolab-xyz", "a:eth0", "--json"])
    assert missing.exit_code == 1 and '"ok": false' in missing.stdout and "no lab named 'nolab-xyz'" in missing.stdout
