"""No CLI command ends in a traceback for a NetlabError or a kernel error: every command,
the bench, lab and traffic groups included, reports it as `netlab up` does (a line on
stderr, or {"ok": false, "error": ...} with --json) with the same exit codes."""

from __future__ import annotations

import errno
import json

import pytest
import typer
from pyroute2.netlink.exceptions import NetlinkError
from typer.testing import CliRunner

from netlab import deploy, ui
from netlab.bench import deploy as bench_deploy
from netlab.bench.conns import runner as conns_runner
from netlab.bench.paths import runner as paths_runner
from netlab.cli import app
from netlab.errors import NetlabError
from netlab.labs import runner as labs_runner
from netlab.traffic import api as traffic_api

cli = CliRunner()

# one command of each group, and the call under it that is made to fail
COMMANDS = {
    "core": (["down", "somelab"], deploy, "undo_count"),
    "bench paths": (["bench", "paths", "--paths", "loopback", "--rounds", "1"], paths_runner, "run"),
    "bench deploy": (["bench", "deploy", "--nodes", "2", "--no-compare"], bench_deploy, "run"),
    "bench conns": (["bench", "conns", "--target", "10"], conns_runner, "run_rounds"),
    "lab": (["lab", "run", "syn-flood", "--short"], labs_runner, "run"),
    "traffic": (["traffic", "sweep", "somelab", "h1", "198.18.0.0/30"], traffic_api, "sweep"),
}
FAILURES = {
    "kernel": (OSError(errno.EPERM, "setns", "/run/netns/nl.x.h1"), "setns: Operation not permitted: /run/netns/nl.x.h1 (EPERM)"),
    "netlink": (NetlinkError(errno.EEXIST), "File exists (EEXIST)"),
    "netlab": (NetlabError("lab 'x' is half built"), "lab 'x' is half built"),
}


def _commands(command, path: tuple[str, ...] = ()):
    if getattr(command, "commands", None) is not None:  # a group (typer ships its own click)
        for name, sub in command.commands.items():
            yield from _commands(sub, (*path, name))
    else:
        yield " ".join(path), command


def test_every_command_reports_errors_through_the_one_mechanism():
    found = dict(_commands(typer.main.get_command(app)))
    assert {"up", "down", "bench paths", "bench conns", "bench deploy", "lab run", "traffic craft"} <= set(found)
    unwrapped = [name for name, cmd in found.items() if not getattr(cmd.callback, "__netlab_reporting__", False)]
    assert not unwrapped, unwrapped


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("group", COMMANDS)
def test_each_group_reports_like_up(group, failure, monkeypatch):
    argv, module, call = COMMANDS[group]
    exc, text = FAILURES[failure]

    def broken(*args, **kwargs):
        raise exc

    monkeypatch.setattr(module, call, broken)
    result = cli.invoke(app, argv)
    assert result.exit_code == 1, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)  # not an exception escaping the command
    assert "Traceback" not in result.output and f"error: {text}" in result.stderr, result.stderr
    result = cli.invoke(app, [*argv, "--json"])
    body = json.loads(result.stdout)
    assert result.exit_code == 1 and body["ok"] is False and body["error"].startswith(text), body


def test_usage_and_topology_errors_exit_2_everywhere(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: lab\nnodes: {a: {kind: nosuch}}\n")
    for argv in (["up", str(bad)], ["validate", str(bad)], ["lab", "run", "no-such-lab"],
                 ["lab", "show", "no-such-lab"], ["down"], ["bench", "paths", "--paths", "nowhere"],
                 ["traffic", "sweep", "lab", "h1", "198.18.0.0/30", "--mode", "tcp"],
                 ["traffic", "sweep", "lab", "h1", "not-a-subnet"], ["bench", "validate", "--sizes", "abc"],
                 ["bench", "validate", "--sizes", "0"], ["bench", "deploy", "--nodes", "5x"]):
        result = cli.invoke(app, argv)
        assert result.exit_code == 2 and "Traceback" not in result.output, (argv, result.output)
        assert isinstance(result.exception, SystemExit), (argv, result.exception)


def test_problems_print_as_written_every_one_on_its_line(tmp_path):
    """Text from the file is never read as Rich markup, and every problem of many gets
    its own line at its own place (the first through Rich, the rest as plain text)."""
    bad = tmp_path / "bad.yaml"
    links = "".join(f"- [{{node: a, address: 198.18.{i}.1/33}}, b]\n" for i in range(300))
    bad.write_text("name: lab\nnodes: {a: {}, b: {}, '[red]x[/]': {}}\nlinks:\n" + links)
    result = cli.invoke(app, ["validate", str(bad)])
    lines = result.output.splitlines()
    assert result.exit_code == 2 and lines[0].startswith(f"error: {bad}:2:"), result.output
    assert "'[red]x[/]'" in lines[0], lines[0]
    assert lines[1:] == [
        f"{bad}:{4 + i}:14: links[{i}].endpoints[0].address: '198.18.{i}.1/33': an IPv4 prefix length is 0..32"
        for i in range(300)], lines[1:4]


def test_other_exceptions_are_not_swallowed():
    @ui.reporting
    def buggy(as_json: bool = False):
        raise KeyError("a bug")

    with pytest.raises(KeyError):
        buggy()


def test_a_missing_privilege_says_what_to_do(monkeypatch):
    monkeypatch.setattr(ui.os, "geteuid", lambda: 1000)
    assert ui.describe(PermissionError(errno.EPERM, "unshare")).endswith("run it with sudo")
    monkeypatch.setattr(ui.os, "geteuid", lambda: 0)
    assert "--privileged" in ui.describe(PermissionError(errno.EPERM, "unshare"))
