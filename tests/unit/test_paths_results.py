"""From samples to the JSON result and the report, on made-up samples (no root)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from netlab.bench.paths import definitions, report, results
from netlab.cli import app

KEYS = {"name", "rr_tps", "rr_p50_us", "rr_p99_us", "crr_cps", "stream_gbps", "ratio_to_loopback", "engine"}


def _rr(path, engine, r, rate, p50, flagged=False):
    inter = {"foreign_cpu": 0.3 if flagged else 0.0, "steal": 0.0, "cpu_wait": 0.0, "flagged": flagged,
             "why": "other processes used 30% of a CPU" if flagged else ""}
    lat = {"p50": p50, "p90": p50 * 1.2, "p99": p50 * 2, "p99_9": p50 * 3, "histogram": [[16.0, 10]]}
    s = {"path": path, "round": r, "engine": engine, "metric": "rr", "rate": rate, "latency_us": lat,
         "interference": inter}
    if engine == "builtin":
        s.update(agree=True, cost={"cpu_us": 20.0, "net_rx_softirqs": 2.0, "netif_rx": 2.0, "ctx_switches": 2.0,
                                   "unit": "transaction"})
    return s


def _samples():
    out = []
    for r in range(3):
        for path, scale in (("loopback", 1.0), ("veth", 0.9), ("nat", 0.7)):
            out.append(_rr(path, "builtin", r, 40000 * scale, 25 / scale, flagged=(r == 0)))
            out.append(_rr(path, "sockperf", r, 42000 * scale, 24 / scale))
            out.append({"path": path, "round": r, "engine": "builtin", "metric": "stream", "gbps": 20 * scale,
                        "buffer": 131072, "mtu": 1500, "agree": True, "interference": None})
            out.append({"path": path, "round": r, "engine": "iperf3", "metric": "stream", "gbps": 30 * scale,
                        "interference": None})
    out.append({"path": "nat", "round": 3, "engine": "builtin", "metric": "rr", "error": "connect: refused"})
    return out


def _result():
    defs = definitions.select(["loopback", "veth", "nat", "bridge"])
    return results.build(opts={"lab": "bp", "engine": "all", "rounds": 3, "seconds": 1.0, "warmup": 0.3},
                         defs=defs, metrics=["rr", "stream"], engines=("builtin", "sockperf", "iperf3"),
                         samples=_samples(), errors={"bridge": "lab could not be built"}, env={"kernel": "x"},
                         calibration=None, notes=[], cores={"client": 0, "server": 1, "same_core": False}, elapsed=1.0)


def test_rows_carry_the_issue_keys_and_pair_ratios_by_round():
    res = _result()
    json.dumps(res)  # JSON-ready
    assert {"paths", "env", "targets", "samples", "comparison"} <= set(res)
    for row in res["paths"]:
        assert KEYS <= set(row), row
    veth = next(r for r in res["paths"] if r["name"] == "veth" and r["engine"] == "builtin")
    assert veth["rr_tps"] == 36000 and veth["ratio_to_loopback"] == 0.9 and veth["agree"] is True
    assert veth["ratios"]["stream_gbps"]["median"] == 0.9 and veth["stream"]["mtu"] == 1500
    assert veth["interference"]["flagged"] == 1 and veth["cost"]["rr"]["cpu_us"] == 20.0
    nat = next(r for r in res["paths"] if r["name"] == "nat" and r["engine"] == "builtin")
    assert nat["errors"] == ["connect: refused"] and nat["rr_tps"] == 28000
    bridge = [r for r in res["paths"] if r["name"] == "bridge"]
    assert len(bridge) == 3 and all(r["error"] == "lab could not be built" and r["rr_tps"] is None for r in bridge)


def test_targets_are_judged_from_the_paired_comparison():
    res = _result()
    comp = {c["name"]: c for c in res["comparison"]}
    assert round(comp["veth"]["rr_vs_sockperf"]["median"], 3) == round(40 / 42, 3)
    assert round(comp["nat"]["stream_vs_iperf3"]["median"], 3) == round(20 / 30, 3)
    by = {t["target"]: t for t in res["targets"]}
    assert by["built-in rr ≥ 0.9 × sockperf on every path"]["met"] is True
    assert by["built-in stream ≥ 0.85 × iperf3"]["met"] is False
    assert by["built-in ratios to loopback within 5 % of sockperf's"]["met"] is True
    ordering = [t for t in res["targets"] if t["target"].startswith("rr latency ordering")]
    assert all(t["met"] is None for t in ordering)  # bridge and routed were not measured


def test_report_writes_markdown_and_charts(tmp_path):
    written = report.write(_result(), str(tmp_path / "rep"))
    text = (tmp_path / "rep" / "report.md").read_text()
    assert "| veth | builtin |" in text and "SO_LINGER 0" in text and "not met" in text
    for chart in report.CHARTS:
        assert (tmp_path / "rep" / chart).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(written["charts"]) == len(report.CHARTS)


def test_cli_rejects_unknown_paths_before_building_anything():
    out = CliRunner().invoke(app, ["bench", "paths", "--paths", "loopback,docker0"])
    assert out.exit_code == 2 and "unknown path 'docker0'" in out.output
    out = CliRunner().invoke(app, ["bench", "paths", "--help"])
    assert out.exit_code == 0 and "--same-core" in out.output


def test_flagged_rounds_left_out_of_ratios_while_enough_clean_ones_remain():
    samples = []
    for r in range(4):
        disturbed = r == 0  # a round another process disturbed: the veth run crawled
        samples.append(_rr("loopback", "builtin", r, 40000, 25))
        samples.append(_rr("veth", "builtin", r, 4000 if disturbed else 36000, 25, flagged=disturbed))
    res = results.build(opts={"lab": "bp", "engine": "builtin", "rounds": 4, "seconds": 1.0, "warmup": 0.3},
                        defs=definitions.select(["loopback", "veth"]), metrics=["rr"], engines=("builtin",),
                        samples=samples, errors={}, env={}, calibration=None, notes=[],
                        cores={"client": 0, "server": 1, "same_core": False}, elapsed=1.0)
    veth = next(r for r in res["paths"] if r["name"] == "veth")
    assert veth["ratios"]["rr_tps"] == {"median": 0.9, "min": 0.9, "max": 0.9, "n": 3, "rounds": "clean"}
    assert veth["ratio_to_loopback"] == 0.9 and veth["spread"]["rr_tps"]["min"] == 4000  # raw figures keep it


def test_a_machine_without_tracepoints_gives_a_whole_result(tmp_path, capsys):
    """No tracefs and no way to mount one: the tracepoint figures are None with the reason,
    and every consumer (rows, JSON, table, report, charts) copes."""
    from netlab.bench.paths import cli as paths_cli

    why = "no tracefs mounted at /sys/kernel/tracing, and mounting one needs root"
    samples = _samples()
    for s in samples:
        if "cost" in s:
            s["cost"].update(netif_rx=None, net_rx_softirqs=None, netif_rx_note=why, net_rx_softirqs_note=why)
    defs = definitions.select(["loopback", "veth", "nat"])
    res = results.build(opts={"lab": "bp", "engine": "builtin", "rounds": 3, "seconds": 1.0, "warmup": 0.3},
                        defs=defs, metrics=["rr", "stream"], engines=("builtin",), samples=samples, errors={},
                        env={"kernel": "x", "tools": {"tracepoint": f"unavailable: {why}", "tracefs": why}},
                        calibration=None, notes=[], cores={"client": 0, "server": 1, "same_core": False}, elapsed=1.0)
    json.loads(json.dumps(res))
    loop = next(r for r in res["paths"] if r["name"] == "loopback")
    assert loop["cost"]["rr"]["netif_rx"] is None and loop["cost"]["rr"]["netif_rx_note"] == why
    assert loop["cost"]["rr"]["cpu_us"] == 20.0 and loop["rr_tps"] == 40000
    paths_cli.print_table(res)
    assert "loopback" in capsys.readouterr().out
    written = report.write(res, str(tmp_path))
    text = (tmp_path / "report.md").read_text()
    assert f"Not counted: {why}" in text and "| loopback | rr (per transaction) | 20.0 | – | – |" in text
    assert all((tmp_path / c).stat().st_size > 0 for c in report.CHARTS) and len(written["charts"]) == 3
