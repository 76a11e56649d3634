"""`--report DIR`: report.md and PNG charts (matplotlib, Agg backend)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from netlab import loader
from netlab.bench.paths import counters, definitions
from netlab.graph import report_picture
from netlab.bench.paths.results import LATENCY

CHARTS = ("latency.png", "ratio.png", "throughput.png")


def _fmt(v, digits: int = 1) -> str:
    if v is None:
        return "–"
    return f"{v:,.{digits}f}" if isinstance(v, float) else str(v)


def _span(sp: dict | None, digits: int = 1) -> str:
    """median (min–max); † when a ratio had to use flagged rounds too."""
    if not sp:
        return "–"
    mark = "†" if str(sp.get("rounds", "")).startswith("all") else ""
    return f"{_fmt(sp['median'], digits)} ({_fmt(sp['min'], digits)}–{_fmt(sp['max'], digits)}){mark}"


def _mark(met) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


def markdown(result: dict) -> str:
    """The report's text: tables of figures, ratios, costs, targets and the environment."""
    env = result.get("env", {})
    cores = result["cores"]
    lines = [f"# netlab bench paths — {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Kernel {env.get('kernel')}, {env.get('cpu')} ({env.get('cpus')} CPUs). Engines: "
             f"{', '.join(result['engines'])}; {result['rounds']} interleaved rounds of {result['seconds']} s "
             f"after {result['warmup']} s warm-up; client on CPU {cores['client']}, server on CPU {cores['server']}. "
             "Figures are medians over rounds with (min–max). Ratios pair runs of the same round and leave "
             "out rounds flagged for interference while at least 3 clean ones remain; † marks a ratio "
             "that had to use flagged rounds too.", ""]
    if result.get("calibration"):
        lines += [f"Calibration on loopback: {result['calibration']}", ""]
    lines += ["## Figures", "",
              "| path | engine | rr tps | p50 µs | p90 µs | p99 µs | p99.9 µs | crr conn/s | stream Gbit/s "
              "| ratio to loopback | p50 / loopback's |", "|" + "---|" * 11]
    for r in result["paths"]:
        sp = r.get("spread", {})
        ratio = (r.get("ratios") or {}).get(r.get("ratio_metric") or "", None)
        lines.append(f"| {r['name']} | {r['engine']} | {_span(sp.get('rr_tps'), 0)} | "
                     + " | ".join(_fmt(r.get(k)) for k in LATENCY)
                     + f" | {_span(sp.get('crr_cps'), 0)} | {_span(sp.get('stream_gbps'), 2)} | "
                     + (f"{_span(ratio, 3)} ({r['ratio_metric']})" if ratio
                        else r.get("error", r.get("skipped", "–")))
                     + f" | {_span((r.get('ratios') or {}).get('rr_p50_us'), 3)} |")
    if result.get("comparison"):
        lines += ["", "## Built-in against the reference tools (paired by round)", "",
                  "| path | built-in / sockperf rr tps | built-in / sockperf p50 latency | built-in / iperf3 stream |",
                  "|---|---|---|---|"]
        for c in result["comparison"]:
            lines.append(f"| {c['name']} | {_span(c['rr_vs_sockperf'], 3)} "
                         f"| {_span(c.get('p50_latency_vs_sockperf'), 3)} "
                         f"| {_span(c['stream_vs_iperf3'], 3)} |")
    lines += ["", "## Targets", ""] + [f"- {t['target']}: {_mark(t['met'])} — {t['detail']}"
                                       for t in result["targets"]]
    lines += _costs(result) + _interference(result) + _env(env)
    lines += ["", "## Charts", ""] + [f"![{c}]({c})" for c in CHARTS]
    return "\n".join(lines) + "\n"


def _costs(result: dict) -> list[str]:
    out = ["", "## Cost per transaction (built-in engine, both processes)", "",
           "NET_RX softirqs and net:netif_rx are counted by tracepoint in the two engine processes; "
           "the machine-wide /proc/softirqs figure beside them includes everyone else's traffic.", "",
           "| path | metric | CPU µs | NET_RX softirqs | net:netif_rx | NET_RX, whole machine | context switches |",
           "|---|---|---|---|---|---|---|"]
    notes = set()
    for r in result["paths"]:
        for metric, c in (r.get("cost") or {}).items():
            if r["engine"] != "builtin":
                continue
            out.append(f"| {r['name']} | {metric} (per {c.get('unit')}) | {_fmt(c.get('cpu_us'))} | "
                       f"{_fmt(c.get('net_rx_softirqs'), 2)} | {_fmt(c.get('netif_rx'), 2)} | "
                       f"{_fmt(c.get('net_rx_softirqs_machine'), 2)} | {_fmt(c.get('ctx_switches'), 2)} |")
            notes |= {v for k, v in c.items() if k.endswith("_note") and v}
    out += [f"\nNot counted: {n}" for n in sorted(notes)]
    out.append("\ncrr closes with SO_LINGER 0: an RST instead of a FIN, so no TIME_WAIT piles up.")
    return out


def _interference(result: dict) -> list[str]:
    i = result["interference"]
    out = ["", "## Interference", "",
           f"{i['flagged']} of {i['samples']} runs flagged (others used > {counters.FOREIGN_LIMIT:.0%} of a CPU, "
           f"or steal > {counters.STEAL_LIMIT:.0%}); worst foreign load {_fmt(i['max_foreign_cpu'], 2)} CPU, "
           f"worst steal {_fmt(i['max_steal'], 3)}."]
    for r in result["paths"]:
        if r.get("interference", {}).get("flagged"):
            out.append(f"- {r['name']} ({r['engine']}): {r['interference']['flagged']} of "
                       f"{r['interference']['samples']} — {'; '.join(r['interference']['why'])}")
    return out


def _env(env: dict) -> list[str]:
    out = ["", "## Environment", "", f"- kernel {env.get('kernel')} ({env.get('kernel_version')})",
           f"- tools: {env.get('tools')}", f"- idle CPUs: {_idle(env.get('cpu_idle'))}",
           f"- waiting: {_wait(env.get('wait'))}", "",
           "| path | device | MTU | qdisc | offloads |", "|---|---|---|---|---|"]
    for name, e in env.get("paths", {}).items():
        off = e.get("offloads")
        off = ", ".join(f"{k}: {v}" for k, v in off.items()) if isinstance(off, dict) else off
        out.append(f"| {name} | {e.get('dev')} | {e.get('mtu')} | {e.get('qdisc')} | {off} |")
    after = env.get("nodes_after", {})
    out += ["", "| node | conntrack before | after | nftables rules |", "|---|---|---|---|"]
    for node, c in env.get("nodes", {}).items():
        out.append(f"| {node} | {c.get('conntrack')} | {after.get(node, {}).get('conntrack')} | {c.get('nft_rules')} |")
    return out


def _idle(idle: dict | None) -> str:
    if not idle:
        return "not recorded"
    states = ", ".join(f"{s['name']} ({s['latency_us']} µs)" for s in idle.get("states", [])) or "none"
    held = "held polling (/dev/cpu_dma_latency = 0)" if idle.get("held") else f"not held: {idle.get('why')}"
    return f"{held}; cpuidle driver {idle.get('driver')}, states {states}"


def _wait(wait: dict | None) -> str:
    if not wait:
        return "not recorded"
    return (f"{wait['mode']} — {wait['why']} (rr {wait.get('rr')}, crr {wait.get('crr')}, stream "
            f"{wait.get('stream')}; sockperf {wait.get('sockperf')})")


def _bars(ax, paths: list[str], series: dict[str, list], errs: dict[str, list] | None = None) -> None:
    """Grouped bars, one group per path, one bar per series (with optional error bars)."""
    width = 0.8 / max(len(series), 1)
    for i, (label, vals) in enumerate(series.items()):
        xs = [x + (i - (len(series) - 1) / 2) * width for x in range(len(paths))]
        ax.bar(xs, [v or 0 for v in vals], width, label=label, yerr=(errs or {}).get(label), capsize=3)
    ax.set_xticks(range(len(paths)), paths)
    ax.legend(fontsize=8)


def _ratio_series(rows, paths: list[str], engines: list[str], key_of) -> tuple[dict, dict]:
    series, errs = {}, {}
    for engine in engines:
        key = key_of(engine)
        if key is None:
            continue
        sps = [(rows(p, engine).get("ratios") or {}).get(key) for p in paths]
        label = f"{engine} {key}"
        series[label] = [s["median"] if s else None for s in sps]
        errs[label] = [[s["median"] - s["min"] if s else 0 for s in sps],
                       [s["max"] - s["median"] if s else 0 for s in sps]]
    return series, errs


def charts(result: dict, outdir: str) -> list[str]:
    """Latency percentiles per path, ratio to loopback with min–max error bars, crr and stream."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ok = [r for r in result["paths"] if "error" not in r and "skipped" not in r]
    engines = [e for e in result["engines"] if any(r["engine"] == e for r in ok)]
    paths = list(dict.fromkeys(r["name"] for r in ok))

    def row(name: str, engine: str) -> dict:
        return next((r for r in ok if r["name"] == name and r["engine"] == engine), {})

    lat_engines = [e for e in engines if e != "iperf3"] or ["builtin"]
    fig, axes = plt.subplots(1, len(lat_engines), figsize=(6 * len(lat_engines), 4), squeeze=False)
    for ax, engine in zip(axes[0], lat_engines):
        _bars(ax, paths, {k[3:-3].replace("_", "."): [row(p, engine).get(k) for p in paths] for k in LATENCY})
        ax.set_yscale("log")
        ax.set_ylabel("round trip, µs")
        ax.set_title(f"rr latency percentiles ({engine})")
    written = [_save(fig, outdir, "latency.png")]

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 4))
    _bars(a1, paths, *_ratio_series(row, paths, engines, lambda e: "stream_gbps" if e == "iperf3" else "rr_tps"))
    a1.set_ylabel("ratio to loopback (median, min–max)")
    a1.set_title("rate relative to loopback, paired by round")
    _bars(a2, paths, *_ratio_series(row, paths, engines, lambda e: None if e == "iperf3" else "rr_p50_us"))
    a2.set_ylabel("p50 latency / loopback's (median, min–max)")
    a2.set_title("rr p50 latency relative to loopback (robust to a few stalls)")
    for ax in (a1, a2):
        ax.axhline(1.0, color="grey", linewidth=0.8)
    written.append(_save(fig, outdir, "ratio.png"))

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4))
    _bars(a1, paths, {"builtin": [row(p, "builtin").get("crr_cps") for p in paths]})
    a1.set_ylabel("connections/s")
    a1.set_title("crr: connect + 1-byte request + close (SO_LINGER 0)")
    _bars(a2, paths, {e: [row(p, e).get("stream_gbps") for p in paths] for e in engines if e in ("builtin", "iperf3")})
    a2.set_ylabel("Gbit/s")
    a2.set_title("stream, one flow (secondary: depends on buffer and MTU)")
    written.append(_save(fig, outdir, "throughput.png"))
    return written


def _save(fig, outdir: str, name: str) -> str:
    import matplotlib.pyplot as plt

    path = os.path.join(outdir, name)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def _network(result: dict, outdir: str) -> str:
    """The picture of each network the paths ran on (as its topology file builds it)."""
    files = dict.fromkeys(definitions.PATHS[r["name"]].topology for r in result["paths"] if r["name"] in definitions.PATHS)
    lines = ["", "## Network", ""]
    for name in files:
        lines += report_picture(loader.load(definitions.topology_file(name)), Path(outdir), f"network-{Path(name).stem}")
    return "\n".join(lines)


def write(result: dict, outdir: str) -> dict:
    """Write report.md and the charts into ``outdir``; return their paths."""
    os.makedirs(outdir, exist_ok=True)
    md = os.path.join(outdir, "report.md")
    with open(md, "w") as fh:
        fh.write(markdown(result) + _network(result, outdir))
    return {"markdown": md, "charts": charts(result, outdir)}
