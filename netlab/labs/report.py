"""The Markdown report of a run of labs: each lab's question, checks, figures and charts."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

from netlab.errors import NetlabError
from netlab.graph import report_picture
from netlab.labs import charts, discover, runner
from netlab.labs.checks import format_value
from netlab.labs.runner import LabResult

MARK = {"pass": "✅ pass", "fail": "❌ fail", "skip": "⏭ skip"}


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _lab_section(result: LabResult, folder: Path) -> list[str]:
    lines = [f'<a id="{result.name}"></a>', "", f"## {result.name} (§{', §'.join(result.chapter)})", "",
             f"**Question.** {result.question}", "",
             f"**Verdict:** {MARK[result.verdict]} — run `{result.run_name}`, {result.seconds:.1f} s"
             f"{' (short form)' if result.short else ''}", ""]
    if result.reason:
        lines += [f"> {'Skipped' if result.verdict == 'skip' else 'Error'}: {_cell(result.reason)}", ""]
    if result.checks:
        lines += ["| check | the book's claim | measured | expected | verdict |", "|---|---|---|---|---|"]
        lines += [f"| {c.id} | {_cell(c.claim)} | {_cell(c.measured_text())} | {_cell(c.expected)} | "
                  f"{MARK[c.verdict]}{' — ' + _cell(c.note) if c.note and c.verdict != 'pass' else ''} |"
                  for c in result.checks]
        lines.append("")
    if result.figures:
        lines += ["<details><summary>All figures</summary>", "", "| figure | value | how |", "|---|---|---|"]
        lines += [f"| {f.name} | {_cell(f.text())} | {_cell(f.note)} |" for f in result.figures.values()]
        lines += ["", "</details>", ""]
    for series in result.series:
        png = charts.draw(series, folder / f"{result.name}-{series.name}.png")
        lines += [f"![{series.title}]({png.name})", ""]
    return lines + _network(result, folder)


def _network(result: LabResult, folder: Path) -> list[str]:
    """The picture of the lab's network, as its topology built it (the lab is down by now)."""
    try:
        topo = runner.topology(discover.find(result.name), result.run_name)
    except NetlabError:
        return []
    return report_picture(topo, folder, f"{result.name}-network") if topo is not None else []


def write(results: list[LabResult], folder: Path) -> Path:
    """Write ``folder``/report.md (and its PNG charts); returns the report's path."""
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["# netlab labs report", "",
             f"Kernel {platform.release()} on {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d %H:%M:%S')}.", "",
             "| lab | chapter | verdict | checks passed | seconds |", "|---|---|---|---|---|"]
    for r in results:
        passed = sum(c.verdict == "pass" for c in r.checks)
        lines.append(f"| [{r.name}](#{r.name}) | §{', §'.join(r.chapter)} | {MARK[r.verdict]} | "
                     f"{passed}/{len(r.checks)} | {format_value(round(r.seconds, 1))} |")
    lines.append("")
    for r in results:
        lines += _lab_section(r, folder)
    path = folder / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
