"""The ramp's progress bar on stderr: count, rate and memory; silent when stderr is not a terminal."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from netlab import ui

GiB = 1 << 30
Update = Callable[[int, float, int, int], None]


@contextlib.contextmanager
def ramp_bar(target: int, enabled: bool = True) -> Iterator[Update]:
    """Yield update(established, rate_cps, slab_growth_bytes, mem_available_bytes).

    Refreshed by the caller, never by a thread of Rich's: the workers are forked
    processes, and a fork must not copy a thread in the middle of a lock."""
    if not enabled or not sys.stderr.isatty():
        yield lambda *a: None
        return
    bar = Progress(TextColumn("ramp"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("{task.fields[rate]:>9,.0f} conn/s"),
                   TextColumn("slab +{task.fields[slab]:.2f} GiB, MemAvailable {task.fields[avail]:.1f} GiB"),
                   TimeElapsedColumn(), console=ui.err, transient=True, auto_refresh=False)
    with bar:
        task = bar.add_task("ramp", total=target, rate=0.0, slab=0.0, avail=0.0)

        def update(done: int, rate: float, slab: int, avail: int) -> None:
            bar.update(task, completed=done, rate=rate, slab=slab / GiB, avail=avail / GiB)
            bar.refresh()

        yield update


def phase(text: str, enabled: bool = True) -> None:
    """One line on stderr saying what the run does now (teardown of a million sockets takes a while)."""
    if enabled and sys.stderr.isatty():
        ui.err.print(text, style="dim", highlight=False)
