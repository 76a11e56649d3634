"""From per-round samples to the result: one row per path and engine (median
with min–max over rounds), ratios to loopback paired round by round, the
built-in/reference comparison, and the issue's targets checked."""

from __future__ import annotations

from collections.abc import Callable

from netlab.bench.paths.definitions import PathDef
from netlab.bench.paths.stats import ratio, rounded, spread

VALUE = {"rr_tps": ("rr", "rate"), "crr_cps": ("crr", "rate"), "stream_gbps": ("stream", "gbps")}
LATENCY = {"rr_p50_us": "p50", "rr_p90_us": "p90", "rr_p99_us": "p99", "rr_p99_9_us": "p99_9"}
RR_VS_SOCKPERF, STREAM_VS_IPERF3, RATIO_AGREEMENT = 0.9, 0.85, 0.05
CLEAN_PAIRS = 3  # unflagged rounds needed before flagged ones are left out of a ratio
ORDER = (("loopback", "veth"), ("bridge", "routed"), ("nat",))


def value(sample: dict, key: str) -> float | None:
    """A figure of one sample: rr_tps, crr_cps, stream_gbps or a latency percentile."""
    if "error" in sample:
        return None
    if key in LATENCY:
        return sample.get("latency_us", {}).get(LATENCY[key]) if sample["metric"] == "rr" else None
    metric, field = VALUE[key]
    return sample.get(field) if sample["metric"] == metric else None


def _index(samples: list[dict]) -> dict:
    return {(s["path"], s["engine"], s["metric"], s["round"]): s for s in samples}


def _flagged(sample: dict) -> bool:
    return bool((sample.get("interference") or {}).get("flagged"))


def _paired(samples: list[dict], idx: dict, key: str, other: Callable[[dict], tuple]) -> dict | None:
    """Spread over rounds of value(sample) / value(the sample ``other`` pairs it with).

    Pairs where either run was flagged for interference are left out while at
    least CLEAN_PAIRS clean ones remain; ``rounds`` says which were used."""
    pairs = []
    for s in samples:
        partner = idx.get(other(s))
        if partner is not None:
            pairs.append((ratio(value(s, key), value(partner, key)), _flagged(s) or _flagged(partner)))
    clean = [r for r, flagged in pairs if not flagged and r is not None]
    used = clean if len(clean) >= CLEAN_PAIRS else [r for r, _ in pairs]
    found = rounded(spread(used))
    if found:
        found["rounds"] = "clean" if used is clean else "all (too few unflagged)"
    return found


def _row(d: PathDef, engine: str, mine: list[dict], idx: dict) -> dict:
    ok = [s for s in mine if "error" not in s]
    keys = [k for k in (*VALUE, *LATENCY) if any(value(s, k) is not None for s in ok)]
    spreads = {k: rounded(spread(value(s, k) for s in ok)) for k in keys}
    ratios = {k: _paired(ok, idx, k, lambda s: ("loopback", s["engine"], s["metric"], s["round"])) for k in keys}
    headline = next((k for k in VALUE if ratios.get(k)), None)
    row = {"name": d.name, "engine": engine}
    for k in (*VALUE, *LATENCY):
        row[k] = spreads[k]["median"] if spreads.get(k) else None
    row["ratio_to_loopback"] = ratios[headline]["median"] if headline else None
    row.update(ratio_metric=headline, spread=spreads, ratios=ratios, about=d.about, client=d.client,
               server=d.server, cost=_costs(ok), interference=_interference(ok),
               errors=[s["error"] for s in mine if "error" in s])
    stream = next((s for s in ok if s["metric"] == "stream"), None)
    if stream:
        row["stream"] = {k: stream.get(k) for k in ("buffer", "mtu", "mss", "sndbuf", "rcvbuf")}
    if engine == "builtin":
        row["agree"] = all(s.get("agree", False) for s in ok) if ok else None
        rr = sorted((s for s in ok if s["metric"] == "rr"), key=lambda s: s["rate"])
        if rr:
            row["rr_mtu"] = rr[0].get("mtu")
            row["latency_histogram"] = rr[len(rr) // 2]["latency_us"].get("histogram")
    return row


def _costs(ok: list[dict]) -> dict:
    """Median cost per transaction (per 64 KiB for stream) of each metric over rounds."""
    out = {}
    for metric in ("rr", "crr", "stream"):
        costs = [s["cost"] for s in ok if s["metric"] == metric and s.get("cost")]
        if not costs:
            continue
        entry = {}
        for k, v in costs[0].items():
            if isinstance(v, (int, float)) or v is None:
                mid = spread(c.get(k) for c in costs)
                entry[k] = round(mid["median"], 3) if mid else None
            else:
                entry[k] = v  # the unit, or why net:netif_rx could not be counted
        out[metric] = entry
    return out


def _interference(ok: list[dict]) -> dict:
    found = [s["interference"] for s in ok if s.get("interference")]
    flagged = [i for i in found if i["flagged"]]
    return {"flagged": len(flagged), "samples": len(found), "why": sorted({i["why"] for i in flagged})[:5]}


def comparison(defs: list[PathDef], samples: list[dict], idx: dict) -> list[dict]:
    """Per path, paired by round: built-in / sockperf transactions/s; built-in / sockperf
    median round trip (a latency ratio, > 1 when the built-in is slower, that a few stalls
    do not move); built-in / iperf3 Gbit/s."""
    out = []
    for d in defs:
        mine = [s for s in samples if s["path"] == d.name and s["engine"] == "builtin"]
        rr = _paired([s for s in mine if s["metric"] == "rr"], idx, "rr_tps",
                     lambda s: (s["path"], "sockperf", "rr", s["round"]))
        p50 = _paired([s for s in mine if s["metric"] == "rr"], idx, "rr_p50_us",
                      lambda s: (s["path"], "sockperf", "rr", s["round"]))
        st = _paired([s for s in mine if s["metric"] == "stream"], idx, "stream_gbps",
                     lambda s: (s["path"], "iperf3", "stream", s["round"]))
        if rr or st:
            out.append({"name": d.name, "rr_vs_sockperf": rr, "p50_latency_vs_sockperf": p50, "stream_vs_iperf3": st})
    return out


def targets(rows: list[dict], comp: list[dict], samples: list[dict]) -> list[dict]:
    """The issue's four targets, each met (True), missed (False) or not measured in this run (None)."""
    out = []
    for key, limit, text in (("rr_vs_sockperf", RR_VS_SOCKPERF, "built-in rr ≥ 0.9 × sockperf on every path"),
                             ("stream_vs_iperf3", STREAM_VS_IPERF3, "built-in stream ≥ 0.85 × iperf3")):
        got = {c["name"]: c[key]["median"] for c in comp if c.get(key)}
        missed = {n: v for n, v in got.items() if v < limit}
        detail = ", ".join(f"{n} {v:.2f}" for n, v in got.items()) or "not measured"
        noisy = [c["name"] for c in comp if c.get(key) and c[key]["rounds"] != "clean"]
        if noisy:
            detail += f"; fewer than {CLEAN_PAIRS} unflagged rounds on {', '.join(noisy)}: judged on disturbed runs"
        out.append({"target": text, "met": (not missed) if got else None, "detail": detail})
    mine = {r["name"]: r for r in rows if r["engine"] == "builtin"}
    ref = {r["name"]: r for r in rows if r["engine"] == "sockperf"}
    agree = {}
    for name, r in mine.items():
        a, b = (r.get("ratios", {}).get("rr_tps") or {}), (ref.get(name, {}).get("ratios", {}).get("rr_tps") or {})
        if a and b and name != "loopback":
            agree[name] = a["median"] / b["median"] - 1
    out.append({"target": "built-in ratios to loopback within 5 % of sockperf's",
                "met": all(abs(v) <= RATIO_AGREEMENT for v in agree.values()) if agree else None,
                "detail": ", ".join(f"{n} {v:+.1%}" for n, v in agree.items()) or "not measured"})
    for engine in ("builtin", "sockperf"):
        out.append(_ordering(engine, {r["name"]: r for r in rows if r["engine"] == engine}, samples))
    return out


def _ordering(engine: str, rows: dict, samples: list[dict]) -> dict:
    text = f"rr latency ordering loopback ≈ veth < bridge ≈ routed < nat ({engine})"
    p50 = {n: rows[n]["rr_p50_us"] for g in ORDER for n in g if n in rows and rows[n].get("rr_p50_us")}
    if len(p50) < sum(len(g) for g in ORDER):
        return {"target": text, "met": None, "detail": "not every path of the ordering was measured"}
    groups = [[p50[n] for n in g] for g in ORDER]
    met = all(max(a) < min(b) for a, b in zip(groups, groups[1:]))
    detail = ", ".join(f"{n} {v:.1f} µs" for n, v in p50.items())
    if not met:
        rr = [s for s in samples if s["engine"] == engine and s["metric"] == "rr" and s.get("interference")]
        flagged = sum(1 for s in rr if s["interference"]["flagged"])
        detail += (f"; interference flagged in {flagged} of {len(rr)} rr runs" if flagged else
                   "; no interference flagged: on this machine the hops differ by less than the run-to-run noise")
    return {"target": text, "met": met, "detail": detail}


def build(*, opts: dict, defs: list[PathDef], metrics: list[str], engines: tuple[str, ...], samples: list[dict],
          errors: dict[str, str], env: dict, calibration: dict | None, notes: list[str], cores: dict,
          elapsed: float, skipped: dict[str, str] | None = None) -> dict:
    """The JSON-ready result of a run."""
    idx = _index([s for s in samples if "error" not in s])
    rows = []
    for d in defs:
        for engine in engines:
            mine = [s for s in samples if s["path"] == d.name and s["engine"] == engine]
            if d.name in errors or d.name in (skipped or {}):
                why = {"error": errors[d.name]} if d.name in errors else {"skipped": skipped[d.name]}
                rows.append({"name": d.name, "engine": engine, **{k: None for k in (*VALUE, *LATENCY)},
                             "ratio_to_loopback": None, **why})
            elif mine:
                rows.append(_row(d, engine, mine, idx))
    comp = comparison(defs, samples, idx)
    inter = [s["interference"] for s in samples if s.get("interference")]
    for s in samples:
        s.get("latency_us", {}).pop("histogram", None)
    return {
        "lab": opts["lab"], "engine": opts["engine"], "engines": list(engines), "metrics": metrics,
        "rounds": opts["rounds"], "seconds": opts["seconds"], "warmup": opts["warmup"], "cores": cores,
        "elapsed_s": round(elapsed, 1), "calibration": calibration, "paths": rows, "comparison": comp,
        "targets": targets(rows, comp, samples),
        "interference": {"flagged": sum(1 for i in inter if i["flagged"]), "samples": len(inter),
                         "max_foreign_cpu": max((i["foreign_cpu"] or 0 for i in inter), default=None),
                         "max_steal": max((i["steal"] for i in inter), default=None)},
        "errors": [{"path": p, "error": e} for p, e in errors.items()],
        "skipped": [{"path": p, "reason": e} for p, e in (skipped or {}).items()], "notes": notes, "env": env,
        "samples": samples,
    }
