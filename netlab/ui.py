"""Terminal output: Rich progress on stderr (quiet when it is not a terminal), JSON on stdout."""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

err = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A callback advancing a bar by n; a no-op when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty() or total <= 0:
        yield lambda n: None
        return
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(exc: Exception, as_json: bool, code: int = 1) -> None:
    """Report an error the user can act on (JSON on stdout, or a line on stderr) and exit with ``code``."""
    if as_json:
        body: dict[str, Any] = {"ok": False, "error": str(exc)}
        problems = getattr(exc, "problems", None)  # a TopologyError: each at file:line:col
        if problems:
            body["problems"] = [p.__dict__ for p in problems]
        emit_json(body)
    else:
        err.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)
