"""Charts for the report, drawn with matplotlib (no display needed)."""

from __future__ import annotations

from pathlib import Path

from netlab.labs.context import Series


def draw(series: Series, path: Path) -> Path:
    """Draw one series as a PNG at ``path``; returns the path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=110)
    try:
        if series.kind == "bar":
            _bars(ax, series)
        else:
            for label, points in series.lines.items():
                xs, ys = zip(*points) if points else ((), ())
                ax.plot(xs, ys, marker="o" if len(points) < 30 else None, markersize=4, label=label)
        ax.set_title(series.title)
        ax.set_xlabel(series.x_label)
        ax.set_ylabel(series.y_label)
        ax.grid(True, alpha=0.3)
        if len(series.lines) > 1:
            ax.legend()
        fig.tight_layout()
        fig.savefig(path)
    finally:
        plt.close(fig)
    return path


def _bars(ax, series: Series) -> None:
    """Bars: each line's points are (category index, value); categories are the x labels
    given as the first label's point order (a line per group)."""
    groups = list(series.lines.items())
    width = 0.8 / max(len(groups), 1)
    for i, (label, points) in enumerate(groups):
        xs = [x + i * width for x, _ in points]
        ax.bar(xs, [y for _, y in points], width=width, label=label)
