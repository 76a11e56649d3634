"""`netlab bench ...`: each benchmark registers its sub-command here."""

from __future__ import annotations

import typer


def register(bench_app: typer.Typer) -> None:
    from netlab.bench import deploy_cmd
    from netlab.bench.conns import cli as conns_cli
    from netlab.bench import validate as validate_cmd
    from netlab.bench.paths import cli as paths_cli

    for module in (deploy_cmd, paths_cli, conns_cli, validate_cmd):
        module.register(bench_app)
