"""Charts for the report, drawn with matplotlib (no display needed)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from netlab.labs.context import Series


def draw(series: Series, path: Path) -> Path:
    """Draw one series as a PNG at ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    try:
        if series.kind == "bar":
            _bars(ax, series)
        else:
            for label, points in series.lines.items():
                xs, ys = zip(*points) if points else ((), ())
                ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=4, label=label)
            if "x" in series.log:
                ax.set_xscale("log", base=2)
            elif all(float(x).is_integer() for pts in series.lines.values() for x, _ in pts):
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if "y" in series.log:
            ax.set_yscale("log")
        ax.set_title(series.title)
        ax.set_xlabel(series.x_label)
        ax.set_ylabel(series.y_label)
        ax.grid(True, alpha=0.3)
        if len(series.lines) > 1:
            ax.legend(fontsize="small", ncol=2 if series.kind == "bar" and len(series.lines) > 2 else 1)
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _number(y: float) -> str:
    return f"{y:,.0f}" if abs(y) >= 1000 else f"{y:.3g}"


def _bars(ax, series: Series) -> None:
    """One bar per category, its value written on it; several lines side by side."""
    groups = list(series.lines.items())
    width = 0.8 / max(len(groups), 1)
    for i, (label, points) in enumerate(groups):
        bars = ax.bar([x + i * width for x, _ in points], [y for _, y in points], width=width, label=label)
        ax.bar_label(bars, labels=[_number(y) for _, y in points], fontsize="x-small", padding=1)
    top = max((y for _, points in groups for _, y in points), default=0)
    if top > 0 and len(groups) > 1:
        ax.set_ylim(top=top * 1.4)  # room for the legend above the bars
    if series.categories:
        wrap = max(8, 72 // max(len(series.categories), 1))
        ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(series.categories))],
                      [textwrap.fill(c, wrap) for c in series.categories], fontsize="small")
