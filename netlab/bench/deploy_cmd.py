"""CLI of `netlab bench deploy`."""

from __future__ import annotations

from typing import Optional

import typer

from netlab import ui
from netlab.bench import sizes as bench_sizes

# netlab.bench.deploy (the kernel backend, pyroute2, Mininet's driver) is imported when
# the command runs: registering `bench deploy` costs every `netlab validate` nothing.

MAX_HOSTS = 20000  # namespaces, each a mount: the machine has memory for ~60,000 (docs/bench-deploy.md)


def _span(sp: dict, digits: int = 2) -> str:
    same = sp["min"] == sp["max"]
    return f"{sp['median']:.{digits}f}" + ("" if same else f" ({sp['min']:.{digits}f}–{sp['max']:.{digits}f})")


def _line(s: dict) -> str:
    mem, floor = s["kib_per_node"], s.get("floor")
    text = (f"{s['hosts']:,} hosts ({s['nodes']:,} nodes): up {_span(s['up_s'])} s, down {_span(s['down_s'])} s, "
            f"{_span(s['per_node_up_ms'], 3)} ms a node; the kernel freed them {_span(s['settle_s'])} s after down")
    if s["still_freeing"]:
        text += f" (still freeing {s['still_freeing']:,})"
    if s.get("floor_error"):
        text += f"; ip -batch floor failed: {s['floor_error']}"
    if floor:
        text += (f"; ip -batch floor up {_span(floor['up_s'])} s, down {_span(floor['down_s'])} s → "
                 f"netlab up {s['up_vs_floor']}× the floor")
    return text + f"; kernel memory a node: slab {mem['slab']} KiB, all {mem['memory']} KiB"


def _print(body: dict) -> None:
    ui.out.print(f"bench deploy, {body['shape']}: median (min–max) of the rounds", highlight=False)
    for s in body["sizes"]:
        ui.out.print("  " + _line(s), highlight=False)
    if body.get("per_node_vs_smallest"):
        ui.out.print("time per node relative to the smallest size: "
                     + ", ".join(f"{n:,}: {r}×" for n, r in body["per_node_vs_smallest"].items()), highlight=False)
    if body.get("failed"):
        ui.out.print(f"[red]stopped at {body['failed']['hosts']:,} hosts:[/] {body['failed']['error']}", highlight=False)
    for t in body["targets"]:
        mark = {True: "[green]met[/]", False: "[red]not met[/]", None: "not measured"}[t["met"]]
        ui.out.print(f"  {t['target']}: {mark} — {t['detail']}", highlight=False)
    ref = body.get("mininet")
    if ref and ref["ok"]:
        ui.out.print(f"mininet: {ref['total_s']:.2f} s → netlab is {body['speedup_vs_mininet']}× faster",
                     highlight=False)
    elif ref:
        ui.out.print(f"mininet failed ({ref['command']}): no side-by-side figure", highlight=False)


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("deploy")
    def deploy_cmd(nodes: str = typer.Option("500", "--nodes", help="Hosts; several sizes with commas, e.g. "
                                             "1000,2000,5000,10000 (time per node as N grows)."),
                   shape: str = typer.Option("star", "--shape", help="star (one LAN, trunked bridges past 500) "
                                             "or tree (bridges 32 wide, hosts at the leaves)"),
                   rounds: int = typer.Option(0, "--rounds", min=0, help="Rounds per size (default: 3 up to "
                                              "1,000 hosts, else 1)."),
                   floor: bool = typer.Option(True, "--floor/--no-floor",
                                              help="Also time the ip -batch floor of the same star, interleaved."),
                   compare: bool = typer.Option(True, "--compare/--no-compare",
                                                help="Also time Mininet's `mn` on the first size, if installed."),
                   lab: Optional[str] = typer.Option(None, "--lab", help="Lab name (default: the bench's own, "
                                                     "netlab.bench.deploy.LAB)."),
                   as_json: bool = typer.Option(False, "--json")) -> None:
        """Bring up and tear down big labs; seconds, time per node, kernel memory per node, ratio to ip -batch."""
        from netlab.bench import deploy

        sizes = bench_sizes.parse(nodes, "--nodes", MAX_HOSTS)
        if shape not in ("star", "tree"):
            raise typer.BadParameter(f"--shape {shape!r}: star or tree")
        rounds = rounds or (3 if max(sizes) <= 1000 else 1)
        body = deploy.run(sizes, shape, rounds, floor, compare, ui.progress, lab or deploy.LAB)  # errors: ui.report_errors
        if as_json:
            ui.emit_json(body)
        else:
            _print(body)
