"""CLI of `netlab bench deploy`."""

from __future__ import annotations

import typer

from netlab import ui
from netlab.bench import deploy


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("deploy")
    def deploy_cmd(nodes: int = typer.Option(500, "--nodes", min=1, max=4000),
                   rounds: int = typer.Option(3, "--rounds", min=1),
                   compare: bool = typer.Option(True, "--compare/--no-compare",
                                                help="Also time Mininet's `mn` on the same star, if installed."),
                   lab: str = typer.Option(deploy.LAB, "--lab", help="Lab name of the star."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
        """Bring up and tear down a star of N netns hosts on one bridge; print seconds."""
        result = deploy.compare(nodes, rounds, compare, lab)
        if as_json:
            ui.emit_json(result)
            return
        settled = f"; the kernel freed the namespaces {result['settle_s']:.2f} s after down" \
            if result["settle_s"] is not None else ""
        ui.out.print(f"{nodes} nodes: up {result['up_s']:.3f} s, down {result['down_s']:.3f} s, "
                     f"total {result['total_s']:.3f} s (best of {rounds}{settled})", highlight=False)
        ref = result.get("mininet")
        if ref and ref["ok"]:
            ui.out.print(f"mininet: {ref['total_s']:.2f} s → netlab is {result['speedup_vs_mininet']}× faster",
                         highlight=False)
        elif ref:
            ui.out.print(f"mininet failed ({ref['command']}): no side-by-side figure", highlight=False)
        elif compare:
            ui.out.print("mininet (`mn`) not installed: no side-by-side figure "
                         "(issue figure: mininet 2.3.0 takes 22 s for 500 hosts here; docs/bench-deploy.md)",
                         highlight=False)
