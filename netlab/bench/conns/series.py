"""The ramp's rate (over the last second) and its per-second series.

Each point: seconds since the ramp began, connections established, the rate
over the last second, slab growth, MemAvailable, the workers' CPU so far, and
the machine's CPU split over that second (user, system, softirq, idle, steal —
everyone's, on a shared machine) beside the workers' own share of it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from netlab.bench.conns import cpu

SERIES_EVERY = 1.0  # seconds between two points


class Meter:
    """Feed it every tick; it keeps the rate over the last second and a point every SERIES_EVERY."""

    def __init__(self, t0: float, tick: float, workers_ns: Callable[[], int], ncpu: int):
        self.t0 = self.last_point = self.last_progress = t0
        self.workers_ns = workers_ns
        self.ncpu = max(1, ncpu)
        self.recent: deque[tuple[float, int]] = deque([(t0, 0)], maxlen=round(1 / tick) + 1)
        self.base_ns = self.last_ns = workers_ns()
        self.last_machine = cpu.machine()
        self.series: list[dict] = [{"t": 0.0, "established": 0, "rate_cps": 0, "slab_growth": 0, "cpu_s": 0.0}]

    def tick(self, now: float, n: int, slab_growth: int, available: int, final: bool = False) -> float:
        if n > self.recent[-1][1]:
            self.last_progress = now
        self.recent.append((now, n))
        (t_old, n_old) = self.recent[0]
        rate = (n - n_old) / (now - t_old) if now > t_old else 0.0
        if now - self.last_point >= SERIES_EVERY or final:
            self._point(now, n, rate, slab_growth, available)
        return rate

    def _point(self, now: float, n: int, rate: float, slab_growth: int, available: int) -> None:
        ns, machine = self.workers_ns(), cpu.machine()
        span = max(now - self.last_point, 1e-3)
        self.series.append({"t": round(now - self.t0, 2), "established": n, "rate_cps": round(rate),
                            "slab_growth": slab_growth, "mem_available": available,
                            "cpu_s": round((ns - self.base_ns) / 1e9, 2),
                            "cpu_pct": cpu.shares(self.last_machine, machine),
                            "workers_pct": round(100 * (ns - self.last_ns) / 1e9 / span / self.ncpu, 1)})
        self.last_point, self.last_ns, self.last_machine = now, ns, machine
