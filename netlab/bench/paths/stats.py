"""Small statistics: percentiles of a latency sample, a latency histogram, and
median with min–max over rounds. No numpy: the engine process imports this.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

PERCENTILES = (50.0, 90.0, 99.0, 99.9)


def _key(p: float) -> str:
    return f"p{p:g}".replace(".", "_")


def percentile_keys() -> list[str]:
    return [_key(p) for p in PERCENTILES]


def percentiles(ordered: Sequence[float], points: Iterable[float] = PERCENTILES) -> dict[str, float]:
    """Nearest-rank percentiles of an ascending sample: {"p50": ..., "p99_9": ...}."""
    n = len(ordered)
    if n == 0:
        return {_key(p): math.nan for p in points}
    return {_key(p): ordered[min(n - 1, max(0, math.ceil(round(p * n / 100, 9)) - 1))] for p in points}


def latency_summary(samples_ns: Sequence[int]) -> dict:
    """Percentiles, mean, min and max in µs, and a histogram, of per-transaction times in ns."""
    ordered = sorted(samples_ns)
    if not ordered:
        return {"count": 0}
    us = {k: round(v / 1e3, 2) for k, v in percentiles(ordered).items()}
    return {"count": len(ordered), **us, "min": round(ordered[0] / 1e3, 2), "max": round(ordered[-1] / 1e3, 2),
            "mean": round(sum(ordered) / len(ordered) / 1e3, 2), "histogram": histogram(ordered)}


def histogram(ordered_ns: Sequence[int], per_octave: int = 4) -> list[list[float]]:
    """[[lower bound µs, count], ...] in log-spaced bins (``per_octave`` bins per doubling)."""
    bins: dict[int, int] = {}
    for v in ordered_ns:
        b = math.floor(math.log2(max(v, 1) / 1e3) * per_octave) if v > 0 else -10 * per_octave
        bins[b] = bins.get(b, 0) + 1
    return [[round(2 ** (b / per_octave), 3), c] for b, c in sorted(bins.items())]


def spread(values: Iterable[float | None]) -> dict | None:
    """{"median", "min", "max", "n"} over rounds, ignoring missing values; None if there are none."""
    vals = sorted(v for v in values if v is not None and not math.isnan(v))
    if not vals:
        return None
    n = len(vals)
    mid = vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2
    return {"median": mid, "min": vals[0], "max": vals[-1], "n": n}


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def rounded(d: dict | None, digits: int = 3) -> dict | None:
    if d is None:
        return None
    return {k: round(v, digits) if isinstance(v, float) else v for k, v in d.items()}
