"""`--report DIR`: report.md and ramp.png — the ramp curve (connections and rate per second)
with the machine's CPU split under it (matplotlib, Agg backend)."""

from __future__ import annotations

import json
import os

from netlab.bench.conns import report

SPLIT = ("user", "system", "softirq", "steal", "idle")


def ramp_png(result: dict, path: str) -> str:
    """Two panels sharing the time axis: established and rate above, CPU split (stacked) below."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = result["series"]
    t = [p["t"] for p in pts]
    fig, (top, low) = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    top.plot(t, [p["established"] / 1e6 for p in pts], color="tab:blue", label="established")
    top.set_ylabel("connections (millions)")
    rate = top.twinx()
    rate.plot(t, [p["rate_cps"] / 1e3 for p in pts], color="tab:orange", label="rate")
    rate.set_ylabel("rate over the last second (thousand/s)")
    top.set_title(f"bench conns: {result['established']:,} connections in {result['setup_s']:.1f} s "
                  f"({result['cpu_us_per_conn']} µs CPU each, source ports: {result['source_ports']})")
    lines = top.get_legend_handles_labels()[0] + rate.get_legend_handles_labels()[0]
    top.legend(lines, ["established", "rate"], loc="upper left", fontsize=8)
    shares = {k: [p.get("cpu_pct", {}).get(k, 0) for p in pts] for k in SPLIT}
    shares["user"] = [u + n for u, n in zip(shares["user"], [p.get("cpu_pct", {}).get("nice", 0) for p in pts])]
    low.stackplot(t, *shares.values(), labels=SPLIT, alpha=0.85)
    low.plot(t, [p.get("workers_pct", 0) for p in pts], color="black", linewidth=1, label="the workers' share")
    low.set_ylim(0, 100)
    low.set_ylabel("machine CPU, % (all users)")
    low.set_xlabel("seconds since the ramp began")
    low.legend(loc="lower left", fontsize=7, ncol=6)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def markdown(result: dict) -> str:
    per = result["ramp_cpu"].get("us_per_conn", {})
    lines = ["# netlab bench conns", "", *[f"- {line}" for line in report.lines(result)], "",
             "## CPU per phase", "", "| phase | client s (user/system) | server s (user/system) | ksoftirqd s "
             "| machine user % | system % | softirq % | idle % | steal % |", "|---|---|---|---|---|---|---|---|---|"]
    phases = {"ramp": result["ramp_cpu"], "hold": result["cpu"].get("hold"),
              "teardown": (result.get("teardown") or {}).get("cpu")}
    for name, c in phases.items():
        if not c:
            continue
        m = c["machine_pct"]
        lines.append(f"| {name} | {c['client']['cpu_s']} ({c['client']['user_s']}/{c['client']['system_s']}) | "
                     f"{c['server']['cpu_s']} ({c['server']['user_s']}/{c['server']['system_s']}) | "
                     f"{c['ksoftirqd_s']} | {m['user'] + m['nice']} | {m['system']} | {m['softirq']} | "
                     f"{m['idle']} | {m['steal']} |")
    lines += ["", f"Ramp CPU per connection (exact, schedstat): {json.dumps(per)}", "",
              "## Limits ahead", "", *[f"- {a['limit']}: ~{a['connections']:,} connections ({a['detail']})"
                                       for a in result["limits_ahead"] if a["connections"]],
              "", "![ramp](ramp.png)", ""]
    return "\n".join(lines)


def write(result: dict, outdir: str) -> dict:
    """report.md and ramp.png in ``outdir``; their paths."""
    os.makedirs(outdir, exist_ok=True)
    md = os.path.join(outdir, "report.md")
    with open(md, "w") as fh:
        fh.write(markdown(result))
    return {"markdown": md, "chart": ramp_png(result, os.path.join(outdir, "ramp.png"))}
