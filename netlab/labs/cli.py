"""`netlab lab list|show|run`: the book's experiments, one command each."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from netlab import signals, ui
from netlab.errors import UsageError
from netlab.labs import checks, discover
from netlab.labs.spec import LabSpec

# The runner and the report (the kernel backend, pyroute2, Rich's tables) are imported
# by the commands that use them: registering `lab` costs every `netlab validate` nothing.

JSON = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
VERDICT_STYLE = {"pass": "[green]pass[/]", "fail": "[red]fail[/]", "skip": "[yellow]skip[/]"}


def _duration(spec: LabSpec) -> str:
    return f"{spec.duration.short:g} s short, {spec.duration.full:g} s full"


def list_cmd(as_json: bool = JSON) -> None:
    """The labs: name, book chapter, question, how long a run takes."""
    from rich.table import Table

    specs = discover.discover()
    if as_json:
        ui.emit_json([{"name": s.name, "chapter": list(s.chapter), "question": s.question,
                       "duration_s": {"short": s.duration.short, "full": s.duration.full}} for s in specs])
        return
    table = Table("lab", "chapter", "question", "duration")
    for s in specs:
        table.add_row(s.name, "§" + ", §".join(s.chapter), s.question, _duration(s))
    ui.out.print(table)


def show_cmd(name: str, as_json: bool = JSON) -> None:
    """A lab's question, topology, steps and checks."""
    from rich.table import Table

    spec = discover.find(name)
    if as_json:
        topo_text = spec.topology_path.read_text() if spec.topology_path else None
        ui.emit_json({**spec.model_dump(mode="json"), "topology_text": topo_text})
        return
    ui.out.print(f"[bold]{spec.name}[/] (§{', §'.join(spec.chapter)}, {_duration(spec)})\n\n{spec.question}\n",
                 highlight=False)
    if spec.topology_path:
        ui.out.print(f"[bold]Topology[/] ({spec.topology_path}):", highlight=False)
        ui.out.print(spec.topology_path.read_text(), markup=False, highlight=False)
    else:
        ui.out.print("[bold]Topology[/]: built by the procedure (see the steps)\n", highlight=False)
    if spec.steps:
        ui.out.print("[bold]Steps[/]", highlight=False)
        for i, step in enumerate(spec.steps, 1):
            ui.out.print(f"  {i}. {step}", highlight=False, markup=False)
    table = Table("check", "the book's claim", "figure", "expected", title="Checks")
    for c in spec.checks:
        table.add_row(c.id, c.claim, c.figure, c.expect)
    ui.out.print(table)
    if spec.params.short:
        ui.out.print("[bold]Parameters[/] (short → full): " + ", ".join(
            f"{k}={spec.params.short[k]}→{spec.params.full[k]}" for k in spec.params.short), highlight=False)


def _print_result(result: runner.LabResult) -> None:  # noqa: F821 (a string: imported by run_cmd)
    from rich.table import Table

    table = Table("check", "the book's claim", "measured", "expected", "verdict",
                  title=f"{result.name}: {VERDICT_STYLE[result.verdict]} ({result.seconds:.1f} s)")
    for c in result.checks:
        note = f" ({c.note})" if c.note and c.verdict != "pass" else ""
        table.add_row(c.id, c.claim, c.measured_text(), c.expected, VERDICT_STYLE[c.verdict] + note)
    ui.out.print(table)
    if result.reason:
        ui.out.print(f"  {'skipped' if result.verdict == 'skip' else 'error'}: {result.reason}", highlight=False,
                     markup=False)


def run_cmd(names: Optional[list[str]] = typer.Argument(None, help="Lab names (see `netlab lab list`)."),
            short: bool = typer.Option(False, "--short", help="The scaled-down form the tests run."),
            all_labs: bool = typer.Option(False, "--all", help="Run every lab."),
            report_dir: Optional[Path] = typer.Option(None, "--report", help="Write report.md and charts here."),
            as_json: bool = JSON) -> None:
    """Run labs: progress, then each check's claim, figure and verdict. Exit 0 only if
    no check failed (a lab skipped for a missing kernel feature does not fail)."""
    from netlab.labs import report, runner

    specs = discover.discover() if all_labs else [discover.find(n) for n in names or ()]
    if not specs:
        raise UsageError("give lab names or --all (`netlab lab list` shows them)")
    results = []
    try:
        for spec in specs:
            ui.err.print(f"[bold]{spec.name}[/] {'(short) ' if short else ''}…", highlight=False)
            results.append(runner.run(spec, short, lambda text, n=spec.name: ui.err.print(
                f"  [{n}] {text}", highlight=False, markup=False)))
            if not as_json:
                _print_result(results[-1])
    except KeyboardInterrupt as exc:
        ui.err.print("interrupted: the lab was taken down", highlight=False)
        raise typer.Exit(signals.exit_code(exc))
    path = report.write(results, report_dir) if report_dir else None
    ok = all(r.verdict != checks.FAIL for r in results)
    if as_json:
        ui.emit_json({"ok": ok, "labs": [r.to_json() for r in results], "report": str(path) if path else None})
    elif path:
        ui.err.print(f"report: {path}", highlight=False)
    raise typer.Exit(0 if ok else 1)


def register(app: typer.Typer) -> None:
    lab_app = typer.Typer(no_args_is_help=True, help="The book's experiments as labs with checks.")
    lab_app.command("list")(list_cmd)
    lab_app.command("show")(show_cmd)
    lab_app.command("run")(run_cmd)
    app.add_typer(lab_app, name="lab")
