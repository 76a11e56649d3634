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
                   as_json: bool = typer.Option(False, "--json")) -> None:
        """Bring up and tear down a star of N netns hosts on one bridge; print seconds."""
        runs = [deploy.run(nodes) for _ in range(rounds)]
        best = min(runs, key=lambda r: r["total_s"])
        result = {**best, "rounds": runs}
        ref = deploy.mininet(nodes) if compare else None
        if ref:
            result["mininet"] = ref
            result["speedup_vs_mininet"] = round(ref["total_s"] / best["total_s"], 1)
        if as_json:
            ui.emit_json(result)
            return
        ui.out.print(f"{nodes} nodes: up {best['up_s']:.3f} s, down {best['down_s']:.3f} s, "
                     f"total {best['total_s']:.3f} s (best of {rounds})", highlight=False)
        if ref:
            ui.out.print(f"mininet: {ref['total_s']:.2f} s → netlab is {result['speedup_vs_mininet']}× faster",
                         highlight=False)
        else:
            ui.out.print("mininet (`mn`) not installed: no side-by-side figure "
                         "(issue figure: mininet 2.3.0 takes 22 s for 500 hosts here)", highlight=False)
