"""`netlab bench ...`: each benchmark registers its sub-command here."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    from netlab.bench import deploy_cmd

    deploy_cmd.register(bench_app)
    for module in ("netlab.bench.paths.cli", "netlab.bench.conns.cli"):
        try:
            mod = __import__(module, fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name and module.startswith(exc.name):
                continue
            raise
        mod.register(bench_app)
