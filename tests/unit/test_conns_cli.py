"""`netlab bench conns` through Typer's CliRunner: the plan and the limit messages, nothing built."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from netlab.cli import app

runner = CliRunner()


def test_plan_of_a_million_in_json():
    result = runner.invoke(app, ["bench", "conns", "--target", "1000000", "--plan", "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    plan = body["plan"]
    assert plan["target"] == 1_000_000 and plan["scheme"] == "ips"
    assert plan["client_workers"] * plan["fds_per_worker"] >= 1_000_000
    assert body["limits"]["nofile_hard"] == plan["fds_per_worker"] + 64
    assert plan["sysctls"]["net.ipv6.conf.all.disable_ipv6"] == "1"  # set in the lab's namespaces only


def test_impossible_target_exits_1_naming_the_limit():
    result = runner.invoke(app, ["bench", "conns", "--target", "5000", "--client-ips", "1",
                                 "--port-range", "40000-40999", "--plan", "--json"])
    assert result.exit_code == 1
    body = json.loads(result.stdout)
    assert body["ok"] is False and "ip_local_port_range" in body["error"]


def test_bad_flags_are_usage_errors():
    assert runner.invoke(app, ["bench", "conns", "--target", "lots", "--plan"]).exit_code == 2
    assert runner.invoke(app, ["bench", "conns", "--port-range", "1024", "--plan"]).exit_code == 2
    assert runner.invoke(app, ["bench", "conns", "--memory-budget", "much", "--plan"]).exit_code == 2
    assert runner.invoke(app, ["bench", "conns", "--sysctl", "net.ipv4.tcp_sack", "--plan"]).exit_code == 2


def test_help_names_the_schemes_and_the_book():
    result = runner.invoke(app, ["bench", "conns", "--help"])
    assert result.exit_code == 0 and "8.5.1" in result.stdout and "8.5.2" in result.stdout
