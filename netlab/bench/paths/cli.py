"""CLI of `netlab bench paths`: parse, run, print a table (or JSON), write the report."""

from __future__ import annotations

from typing import Optional

import typer

from netlab import ui
from netlab.bench import cpuidle
from netlab.bench.paths import definitions
from netlab.errors import UsageError

# The runner (the kernel backend, pyroute2) and Rich's tables are imported when the
# command runs: registering `bench paths` costs every `netlab validate` nothing.


def _split(text: str | None) -> list[str] | None:
    return [t.strip() for t in text.split(",") if t.strip()] if text else None


def _cell(sp: dict | None, digits: int = 0) -> str:
    if not sp:
        return "–"
    return f"{sp['median']:,.{digits}f} ({sp['min']:,.{digits}f}–{sp['max']:,.{digits}f})"


def _num(v: float | None, digits: int = 0) -> str:
    return f"{v:,.{digits}f}" if v is not None else "–"


def print_table(result: dict) -> None:
    from rich.table import Table

    table = Table("path", "engine", "rr tps", "p50 µs", "p99 µs", "crr/s", "Gbit/s", "× loopback", "flagged",
                  title="netlab bench paths (medians over rounds; ratio with min–max)")
    for r in result["paths"]:
        if "error" in r or "skipped" in r:
            why = f"[red]{r['error']}[/]" if "error" in r else f"[yellow]skipped: {r['skipped']}[/]"
            table.add_row(r["name"], r["engine"], why, *[""] * 6)
            continue
        i = r["interference"]
        ratio = r["ratios"].get(r["ratio_metric"]) if r.get("ratio_metric") else None
        table.add_row(r["name"], r["engine"], _num(r["rr_tps"]), _num(r["rr_p50_us"], 1), _num(r["rr_p99_us"], 1),
                      _num(r["crr_cps"]), _num(r["stream_gbps"], 2), _cell(ratio, 2),
                      f"[yellow]{i['flagged']}/{i['samples']}[/]" if i["flagged"] else f"0/{i['samples']}")
    ui.out.print(table)
    for c in result.get("comparison", []):
        keys = ("rr_vs_sockperf", "p50_latency_vs_sockperf", "stream_vs_iperf3")
        parts = [f"{k.replace('_', ' ')} {_cell(c[k], 2)}" for k in keys if c.get(k)]
        ui.out.print(f"{c['name']}: built-in " + "; ".join(parts), highlight=False)
    for t in result["targets"]:
        if t["met"] is not None:  # the others need an engine or a path this run did not have
            mark = "[green]met[/]" if t["met"] else "[red]not met[/]"
            ui.out.print(f"target: {t['target']}: {mark} — {t['detail']}", highlight=False)
    cal = result.get("calibration")
    if cal and "ratio" in cal:
        ui.out.print(f"calibration (loopback rr): built-in {cal['builtin_tps']:,.0f} tps, sockperf "
                     f"{cal['sockperf_tps']:,.0f} tps, ratio {cal['ratio']}", highlight=False)
    i = result["interference"]
    if i["flagged"]:
        ui.out.print(f"[yellow]interference:[/] {i['flagged']} of {i['samples']} runs flagged (worst: other "
                     f"processes {i['max_foreign_cpu']} CPU, steal {i['max_steal']}); see `--json` samples",
                     highlight=False)
    for note in result["notes"]:
        ui.out.print(f"note: {note}", highlight=False)
    ui.out.print("crr closes with SO_LINGER 0 (RST, no TIME_WAIT); stream is one flow, "
                 "figures depend on buffer size and MTU (in --json)", highlight=False)


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("paths")
    def paths_cmd(
        paths: Optional[str] = typer.Option(None, "--paths",
                                            help=f"Comma list (default all): {', '.join(definitions.PATHS)}."),
        metric: Optional[str] = typer.Option(None, "--metric", help="Comma list of rr, crr, stream (default all)."),
        rounds: int = typer.Option(5, "--rounds", min=1, help="Interleaved rounds (median, min–max over them)."),
        engine: str = typer.Option("builtin", "--engine", help=f"One of: {', '.join(definitions.ENGINE_CHOICES)}."),
        seconds: float = typer.Option(1.0, "--seconds", min=0.05, help="Measured window of each run."),
        warmup: float = typer.Option(0.3, "--warmup", min=0.0, help="Warm-up before each window (discarded)."),
        same_core: bool = typer.Option(False, "--same-core", help="Pin client and server to the same core."),
        poll_idle: bool = typer.Option(True, "--poll-idle/--no-poll-idle",
                                       help="Hold /dev/cpu_dma_latency at 0 during the run, so idle CPUs poll "
                                            "instead of halting (released when the run ends)."),
        wait: str = typer.Option("auto", "--wait", help="How rr and crr wait for the other end: sleep, spin "
                                 "(busy-wait on non-blocking receives, both ends and sockperf), or auto (spin "
                                 "where idle CPUs cannot be held polling, e.g. no cpuidle driver)."),
        report: Optional[str] = typer.Option(None, "--report", help="Write report.md and PNG charts into DIR."),
        lab: str = typer.Option("bench-paths", "--lab", help="Name of the lab the benchmark builds."),
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout."),
    ) -> None:
        """What each hop costs: loopback, own-ip, veth, bridge, routed, NAT (rr, crr, stream)."""
        from netlab.bench.paths import runner

        try:
            opts = runner.Options(paths=_split(paths), metrics=_split(metric), rounds=rounds, engine=engine,
                                  seconds=seconds, warmup=warmup, same_core=same_core, lab=lab,
                                  poll_idle=poll_idle, wait=wait)
            steps = runner.total_steps(opts)
            cpuidle.wait_mode(wait, {})  # a bad --wait stops here, before any lab is built
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        try:
            with ui.progress("bench paths", steps, enabled=not as_json) as advance:
                result = runner.run(opts, progress=advance)
        except KeyboardInterrupt:
            ui.err.print("interrupted: the lab is down, the engines are stopped", highlight=False)
            raise typer.Exit(130)
        if report:
            from netlab.bench.paths import report as reporting

            result["report"] = reporting.write(result, report)
        if as_json:
            ui.emit_json(result)
        else:
            print_table(result)
            if report:
                ui.err.print(f"report: {result['report']['markdown']}", highlight=False)
        if any("error" in r for r in result["paths"]):
            raise typer.Exit(1)
