"""`netlab lab` and `netlab traffic` through typer's CliRunner, and the traffic tools'
pure parts (no root)."""

from __future__ import annotations

import ipaddress
import json

import pytest
from typer.testing import CliRunner

from netlab.cli import app
from netlab.errors import NetlabError
from netlab.labs import discover
from netlab.traffic import scope, synflood
from netlab.traffic.rst import rst_rule

cli = CliRunner()


def test_lab_list_json():
    result = cli.invoke(app, ["lab", "list", "--json"])
    assert result.exit_code == 0, result.output
    labs = {lab["name"]: lab for lab in json.loads(result.stdout)}
    assert set(labs) == {spec.name for spec in discover.discover()}
    assert labs["syn-retransmit"]["chapter"] == ["6.5.2"]
    assert labs["syn-flood"]["duration_s"]["short"] > 0 and labs["syn-flood"]["question"]


def test_lab_list_table():
    result = cli.invoke(app, ["lab", "list"])
    assert result.exit_code == 0 and "syn-flood" in result.stdout and "§6.5.2" in result.stdout


def test_lab_show_has_question_topology_steps_checks():
    result = cli.invoke(app, ["lab", "show", "accept-queue-overflow"])
    assert result.exit_code == 0, result.output
    for part in ("overflows", "Topology", "Steps", "Checks", "queue_limit", "backlog=4→64"):
        assert part in result.stdout, part
    data = json.loads(cli.invoke(app, ["lab", "show", "container-network", "--json"]).stdout)
    assert data["topology"] is None and data["checks"]


def test_lab_run_unknown_lab_is_a_usage_error():
    result = cli.invoke(app, ["lab", "run", "no-such-lab", "--json"])
    assert result.exit_code == 2
    assert "no lab named 'no-such-lab'" in json.loads(result.stdout)["error"]
    assert cli.invoke(app, ["lab", "run"]).exit_code == 2


def test_traffic_commands_are_registered():
    result = cli.invoke(app, ["traffic", "--help"])
    assert result.exit_code == 0
    for cmd in ("synflood", "sweep", "capture", "craft"):
        assert cmd in result.stdout


def test_traffic_to_a_lab_that_is_not_up_fails_cleanly():
    result = cli.invoke(app, ["traffic", "synflood", "no-such-lab", "a", "--to", "198.18.0.2", "--port", "80",
                              "--json"])
    assert result.exit_code == 1 and "no lab named" in json.loads(result.stdout)["error"]


def test_targets_outside_the_lab_are_refused():
    lab = [ipaddress.ip_network("198.18.0.0/24")]
    scope.check_targets(lab, ["198.18.0.7", "198.18.0.0/28"])
    for target in ("198.18.1.1", "8.8.8.8", "198.18.0.0/16", "127.0.0.1"):
        with pytest.raises(NetlabError, match="outside"):
            scope.check_targets(lab, [target])
    with pytest.raises(NetlabError, match="not an IPv4"):
        scope.check_targets(lab, ["example.com"])


def test_traffic_is_bounded():
    scope.check_bounds(10, 1.0)
    with pytest.raises(NetlabError, match="count"):
        scope.check_bounds(scope.MAX_COUNT + 1, 1.0)
    with pytest.raises(NetlabError, match="duration"):
        scope.check_bounds(10, scope.MAX_SECONDS + 1)


def test_prebuilt_syns_have_valid_checksums():
    from scapy.layers.inet import IP, TCP

    pkts = synflood.build_syns("198.18.0.1", "198.18.0.2", 80, 300, first_sport=30000)
    assert len(pkts) == 300
    for i in (0, 1, 77, 299):
        parsed = IP(pkts[i])
        assert parsed[TCP].sport == 30000 + i and parsed[TCP].flags == "S" and parsed[TCP].dport == 80
        recomputed = IP(pkts[i])
        del recomputed[TCP].chksum
        assert IP(bytes(recomputed))[TCP].chksum == parsed[TCP].chksum
    assert len(synflood.build_syns("198.18.0.1", "198.18.0.2", 80, 10 ** 6)) == synflood.DISTINCT


def test_rst_rule_names_the_peer():
    assert rst_rule("198.18.0.2", 80) == "ip daddr 198.18.0.2 tcp dport 80 tcp flags & rst == rst drop"
