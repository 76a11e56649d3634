"""Ch. 10: the cost of each container-network hop, through `netlab bench paths`."""

from __future__ import annotations

PATHS = ["loopback", "own-ip", "veth", "bridge", "routed", "nat"]
NEEDS = "needs netlab bench paths (netlab.bench.paths.run_paths)"


def run(lab) -> None:
    try:
        from netlab.bench.paths import run_paths
    except ImportError:
        lab.skip(NEEDS)
    lab.step(f"bench paths: {', '.join(PATHS)} (round trips)")
    result = run_paths(paths=PATHS, metrics=["rr"], rounds=int(lab.params["rounds"]),
                       seconds=float(lab.params["seconds"]), lab=lab.lab)
    rows = {r["name"]: r for r in result["paths"] if r.get("engine", "builtin") == "builtin"}
    if "loopback" not in rows:
        raise RuntimeError(f"bench paths measured no loopback path: {result.get('errors')}")
    base = rows["loopback"]["rr_p50_us"]
    for name, row in rows.items():
        key = name.replace("-", "_")
        lab.figure(f"{key}_rr_p50_us", row["rr_p50_us"], "µs", "median request/response round trip")
        lab.figure(f"{key}_rr_tps", row["rr_tps"], "round trips/s")
        lab.figure(f"{key}_vs_loopback", round(row["rr_p50_us"] / base, 2), "×", "median round trip / loopback's")
    lab.bars("hop-cost", "Round trip per path (median)", "µs", {n: r["rr_p50_us"] for n, r in rows.items()})
