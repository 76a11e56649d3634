"""`netlab bench paths`: what each hop costs — loopback, own-ip, veth, bridge,
routed, NAT — with the built-in engine and the reference tools side by side.

Kept light: the engine processes import this package at start-up.
"""

from __future__ import annotations

from netlab.bench.paths.definitions import PATHS, PathDef  # noqa: F401  (the open table of paths)


def run_paths(paths: list[str] | None = None, metrics: list[str] | None = None, rounds: int = 5,
              engine: str = "builtin", seconds: float = 1.0, report_dir: str | None = None,
              lab: str = "bench-paths", poll_idle: bool = True, wait: str = "auto") -> dict:
    """Build the paths lab, measure, take it down; return the JSON-ready result.

    paths: names from ``definitions.PATHS`` (None: all); metrics: rr, crr, stream
    (None: all); engine: builtin, sockperf, iperf3, reference or all; seconds:
    measured window per run; report_dir: also write report.md and PNG charts there;
    poll_idle: keep idle CPUs polling during the run (netlab.bench.cpuidle); wait: how rr and
    crr wait for the other end — sleep, spin, or auto (spin where idle CPUs cannot be held polling).
    The result has ``paths`` (rows with name, engine, rr_tps, rr_p50_us, rr_p99_us,
    crr_cps, stream_gbps, ratio_to_loopback), ``env``, ``targets`` and the raw ``samples``.
    """
    from netlab.bench.paths import runner

    opts = runner.Options(paths=paths, metrics=metrics, rounds=rounds, engine=engine, seconds=seconds, lab=lab,
                            poll_idle=poll_idle, wait=wait)
    result = runner.run(opts)
    if report_dir:
        from netlab.bench.paths import report

        result["report"] = report.write(result, report_dir)
    return result
