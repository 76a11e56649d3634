"""The labs framework without root: lab.yaml, discovery, check verdicts, /proc parsers, report."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from netlab.backend import procfs as probe
from netlab.backend import rps
from netlab.errors import NetlabError, TopologyError
from netlab.labs import checks, discover, report, runner, spec as labspec
from netlab.labs.checks import Figure
from netlab.labs.context import Series

GOOD = """\
name: demo
chapter: ["6.6.1", 7]
question: Does it?
duration: {short: 2, full: 10}
params:
  short: {n: 4}
  full: {n: 40}
checks:
  - {id: grows, claim: It grows, figure: count, expect: ">= param.n"}
"""


def write_lab(root: Path, text: str = GOOD, name: str = "demo", topology: bool = True) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "lab.yaml").write_text(text)
    (folder / "procedure.py").write_text("def run(lab):\n    lab.figure('count', 5)\n")
    if topology:
        (folder / "topology.yaml").write_text("name: demo\nnodes:\n  a: {}\n")
    return folder


@pytest.mark.parametrize("text,op,operands", [
    ("> 0", ">", ("0",)),
    ("==  param.ports", "==", ("param.ports",)),
    ("within 15% of figure.predicted_s", "within", ("15%", "figure.predicted_s")),
    ("within 0.2 of 3", "within", ("0.2", "3")),
    ("between 0.2 and figure.top", "between", ("0.2", "figure.top")),
])
def test_expectations_parse(text, op, operands):
    assert labspec.parse_expect(text) == (op, operands)


@pytest.mark.parametrize("text", ["about 3", "> lots", "within 15 of", "between 1", "=> 2", "> figure."])
def test_bad_expectations_name_the_forms(text):
    with pytest.raises(ValueError, match="is not an expectation"):
        labspec.parse_expect(text)


def test_good_lab_yaml_loads(tmp_path):
    folder = write_lab(tmp_path)
    spec = labspec.load(folder / "lab.yaml")
    assert spec.chapter == ("6.6.1", "7")
    assert spec.params_for(short=True) == {"n": 4} and spec.params_for(short=False) == {"n": 40}
    assert spec.topology_path == folder / "topology.yaml"


@pytest.mark.parametrize("change,where", [
    (("chapter: [\"6.6.1\", 7]", "chapter: [six]"), "lab.yaml:2:1: chapter"),
    (("full: {n: 40}", "full: {m: 40}"), "params"),
    (('expect: ">= param.n"', "expect: lots"), "checks[0].expect"),
    (("duration: {short: 2, full: 10}", "duration: {short: 2}"), "duration.full"),
    (("question: Does it?", "question: Does it?\ncolour: red"), "colour: unknown field"),
    (("question: Does it?", "question: Does it?\nrequires: [warp-drive]"), "not a kernel feature"),
])
def test_bad_lab_yaml_names_line_and_field(tmp_path, change, where):
    folder = write_lab(tmp_path, GOOD.replace(*change))
    with pytest.raises(TopologyError) as err:
        labspec.load(folder / "lab.yaml")
    assert where in str(err.value)


def test_missing_topology_file_is_named(tmp_path):
    folder = write_lab(tmp_path, topology=False)
    with pytest.raises(TopologyError, match="topology.yaml does not exist"):
        labspec.load(folder / "lab.yaml")


def test_topology_may_be_left_to_the_procedure(tmp_path):
    folder = write_lab(tmp_path, GOOD + "topology: null\n", topology=False)
    assert labspec.load(folder / "lab.yaml").topology_path is None


def test_duplicate_check_ids_are_refused(tmp_path):
    twice = GOOD + "  - {id: grows, claim: Again, figure: count, expect: '> 0'}\n"
    with pytest.raises(TopologyError, match="check ids must be unique: grows"):
        labspec.load(write_lab(tmp_path, twice) / "lab.yaml")


def test_the_shipped_labs_are_found_in_book_order():
    specs = discover.discover()
    names = [s.name for s in specs]
    assert set(names) == {"loopback-vs-nic", "container-network", "accept-queue-overflow", "syn-flood",
                          "syn-retransmit", "port-exhaustion", "time-wait", "connection-memory",
                          "million-connections", "blocking-vs-epoll", "thundering-herd", "nagle-delayed-ack",
                          "busy-polling", "tuning-advice",
                          "receive-path", "send-path", "zero-copy"}
    firsts = [tuple(int(p) for p in s.chapter[0].split(".")) for s in specs]
    assert firsts == sorted(firsts)
    for s in specs:
        assert (s.folder / "README.md").is_file(), f"{s.name} has no README.md"
        assert s.checks, f"{s.name} declares no checks"
        assert s.duration.short <= 20, f"{s.name}: the short form must stay short"


def test_every_shipped_lab_procedure_loads():
    for s in discover.discover():
        assert callable(runner.procedure(s))


def test_discovery_reports_broken_labs_and_finds_by_name(tmp_path):
    write_lab(tmp_path)
    assert discover.find("demo", tmp_path).name == "demo"
    with pytest.raises(NetlabError, match="no lab named 'nope'; labs: demo"):
        discover.find("nope", tmp_path)
    write_lab(tmp_path, GOOD.replace("name: demo", "name: other"), name="third")
    with pytest.raises(NetlabError, match="must match its folder"):
        discover.discover(tmp_path)


def test_labs_dir_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv(discover.ENV_DIR, str(tmp_path))
    assert discover.labs_dir() == tmp_path
    assert discover.discover() == []


CHECK = labspec.CheckSpec(id="c", claim="grows", figure="count", expect=">= param.n")


@pytest.mark.parametrize("value,verdict", [(5, "pass"), (4, "pass"), (3, "fail"), ("many", "fail")])
def test_check_verdicts(value, verdict):
    result = checks.evaluate(CHECK, {"count": Figure("count", value, "conns")}, {"n": 4}, {})
    assert result.verdict == verdict
    assert result.claim == "grows"


def test_check_against_another_figure_with_tolerance():
    spec = labspec.CheckSpec(id="t", claim="1 s", figure="took", expect="within 15% of figure.want")
    figs = {"took": Figure("took", 1.1, "s"), "want": Figure("want", 1.0, "s")}
    assert checks.evaluate(spec, figs, {}, {}).verdict == "pass"
    figs["took"] = Figure("took", 1.2, "s")
    result = checks.evaluate(spec, figs, {}, {})
    assert result.verdict == "fail" and result.expected == "1 ± 0.15"


def test_unmeasured_figure_fails_unless_skipped():
    assert checks.evaluate(CHECK, {}, {"n": 1}, {}).verdict == "fail"
    skipped = checks.evaluate(CHECK, {}, {"n": 1}, {"count": "kernel lacks netem"})
    assert skipped.verdict == "skip" and skipped.note == "kernel lacks netem"


def test_overall_verdict():
    res = lambda v: checks.CheckResult("i", "c", "f", 1, "", "", v)  # noqa: E731
    assert checks.overall([res("pass"), res("skip")]) == "pass"
    assert checks.overall([res("pass"), res("fail")]) == "fail"
    assert checks.overall([res("skip")]) == "skip"


def test_run_names_are_unique_short_and_valid():
    from netlab import names

    made = {runner.run_name("accept-queue-overflow") for _ in range(20)}
    assert len(made) == 20
    for name in made:
        assert name.startswith("lb-accept-queue-overflow-") and len(name) <= 32
        assert names.LAB_NAME.match(name) and "." not in name


def test_topology_is_renamed_for_the_run(tmp_path):
    spec = labspec.load(write_lab(tmp_path) / "lab.yaml")
    assert runner.topology(spec, "lb-demo-abc123").name == "lb-demo-abc123"


SNMP = "Tcp: RtoAlgorithm ActiveOpens\nTcp: 1 7\nTcpExt: ListenOverflows ListenDrops\nTcpExt: 3 4\n"


def test_nstat_style_counter_names():
    assert probe.parse_snmp(SNMP) == {"TcpRtoAlgorithm": 1, "TcpActiveOpens": 7,
                                      "TcpExtListenOverflows": 3, "TcpExtListenDrops": 4}
    assert probe.delta({"a": 1}, {"a": 4, "b": 2}) == {"a": 3, "b": 2}


def test_proc_parsers():
    sock = probe.parse_sockstat("sockets: used 5\nTCP: inuse 2 orphan 0 tw 7 alloc 3 mem 1\n")
    assert sock["TCP"]["tw"] == 7 and sock["sockets"]["used"] == 5
    dev = probe.parse_netdev("h1\nh2\n    lo: 10 2 0 4 0 0 0 0 20 3 0 5 0 0 0 0\n")
    assert dev["lo"] == {"rx_bytes": 10, "rx_packets": 2, "rx_dropped": 4, "tx_bytes": 20, "tx_packets": 3,
                         "tx_dropped": 5}
    irq = probe.parse_softirqs("     CPU0 CPU1\n NET_RX: 5 6\n TIMER: 1 1\n")
    assert irq["NET_RX"] == 11
    slab = probe.parse_slabinfo("v\n# h\nTCP 26 26 2368 13 8 : tunables 0 0 0 : slabdata 2 2 0\n")
    assert slab["TCP"].active_bytes == 26 * 2368
    states = probe.parse_ss_states("ESTAB 0 0 a b\nTIME-WAIT 0 0 a b\nTIME-WAIT 0 0 a c\n")
    assert states == {"ESTAB": 1, "TIME-WAIT": 2}


SOFTNET = ("0038542b 00000010 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 "
           "00000000 00000000 00000000 00000000 00000000\n"
           "00316d33 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 000092b3 "
           "00000002 00000000 00000001 00000000 00000000\n")
INTERRUPTS = """           CPU0       CPU1
 24:          1          0  IO-APIC   5-edge      ACPI:Ged
 38:          0       8697 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0
NMI:          0          0   Non-maskable interrupts
CAL:     847001    1253854   Function call interrupts
ERR:          0
"""


def test_per_cpu_parsers():
    irq = probe.parse_softirqs_per_cpu("     CPU0 CPU2\n NET_RX: 5 6\n NET_TX: 1 0\n")
    assert irq == {"NET_RX": {0: 5, 2: 6}, "NET_TX": {0: 1, 2: 0}}
    net = probe.parse_softnet(SOFTNET)
    assert net[0].processed == 0x38542B and net[0].dropped == 16 and net[0].time_squeeze == 1
    assert net[1].received_rps == 0x92B3 and net[1].flow_limit == 2 and net[1].cpu == 1
    ints = probe.parse_interrupts(INTERRUPTS)
    assert ints["38"].counts == {0: 0, 1: 8697} and ints["38"].device and "virtio2-input.0" in ints["38"].desc
    assert ints["CAL"].total == 847001 + 1253854 and not ints["CAL"].device
    assert ints["ERR"].counts == {0: 0} and ints["ERR"].desc == ""


def test_rps_masks_and_root_refused():
    assert rps.cpu_mask([1]) == "2" and rps.cpu_mask({0, 1}) == "3" and rps.cpu_mask([]) == "0"
    assert rps.cpu_mask([4, 0]) == "11"
    with pytest.raises(ValueError, match="never in the root namespace"):
        rps.rps_set(None, "eth0", [1])


def test_sysctls_only_in_lab_namespaces():
    with pytest.raises(ValueError, match="never in the root namespace"):
        probe.sysctl_set(None, "net.ipv4.tcp_syncookies", 0)
    with pytest.raises(ValueError, match="not a per-namespace"):
        probe.sysctl_set("nl.x.y", "vm.swappiness", 1)


def test_report_has_claims_figures_and_charts(tmp_path):
    result = runner.LabResult("demo", ("6.5.2",), "How long?", "lb-demo-123456", True, verdict="pass",
                              checks=[checks.CheckResult("rto", "1 s | first", "took", 1.02, "s", "1 ± 0.15", "pass")],
                              figures={"took": Figure("took", 1.02, "s", "k = 1")},
                              series=[Series("t", "connect() time", "SYNs lost", "s", {"measured": [(0, 0), (1, 1.02)]})])
    path = report.write([result], tmp_path)
    text = path.read_text()
    assert "How long?" in text and "1 s \\| first" in text and "1.02 s" in text and "✅ pass" in text
    assert (tmp_path / "demo-t.png").stat().st_size > 1000 and "![connect() time](demo-t.png)" in text


def test_bar_chart_has_one_bar_per_category(tmp_path):
    from netlab.labs import charts

    bars = Series("m", "memory", "", "bytes", {"bytes": [(0, 3500.0), (1, 250.0)]}, "bar", ("ESTAB", "TIME_WAIT"))
    assert charts.draw(bars, tmp_path / "m.png").stat().st_size > 1000


def test_grouped_and_log_charts(tmp_path):
    from netlab.labs import charts
    from netlab.labs.context import LabContext

    ctx = LabContext(labspec.load(write_lab(tmp_path) / "lab.yaml"), "lb-demo-1", None, True, {})
    ctx.bars("g", "per CPU", "per packet", {"no RPS": {"CPU0": 1.0, "CPU1": 0.0}, "RPS": {"CPU0": 0.4, "CPU1": 1.0}})
    ctx.bars("one", "single", "bytes", {"a": 1.0, "b": 2.0}, log="y")
    ctx.chart("c", "cost by size", "bytes", "µs", {"C": [(64, 2.5), (1 << 20, 300.0)]}, log="xy")
    grouped, single, line = ctx.series
    assert grouped.categories == ("CPU0", "CPU1") and grouped.lines["RPS"] == [(0, 0.4), (1, 1.0)]
    assert list(single.lines) == ["bytes"] and single.log == "y" and line.log == "xy"
    for s in ctx.series:
        assert charts.draw(s, tmp_path / f"{s.name}.png").stat().st_size > 1000


def test_a_procedure_may_define_dataclasses(tmp_path):
    folder = write_lab(tmp_path)
    (folder / "procedure.py").write_text("from __future__ import annotations\nfrom dataclasses import dataclass\n\n"
                                         "@dataclass(frozen=True)\nclass Point:\n    x: int\n\n"
                                         "def run(lab):\n    lab.figure('count', Point(5).x)\n")
    assert callable(runner.procedure(labspec.load(folder / "lab.yaml")))


def _skipped_names(source: str) -> set[str]:
    """The figure names a procedure's ``lab.skip_figure`` calls can be read to pass: a string
    literal, or a loop variable over a tuple or set of them (inline or a module constant,
    ``{*A, *B}`` too); f-strings are left out."""
    tree = ast.parse(source)
    consts = {t.id: node.value for node in tree.body if isinstance(node, ast.Assign)
              for t in node.targets if isinstance(t, ast.Name)}

    def strings(expr: ast.expr) -> set[str]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            return {expr.value}
        if isinstance(expr, ast.Name) and expr.id in consts:
            return strings(consts[expr.id])
        if isinstance(expr, ast.Starred):
            return strings(expr.value)
        if isinstance(expr, (ast.Tuple, ast.List, ast.Set)):
            return set().union(*(strings(e) for e in expr.elts))
        return set()

    def skipped(node: ast.AST) -> list[ast.expr]:
        return [c.args[0] for c in ast.walk(node)
                if isinstance(c, ast.Call) and getattr(c.func, "attr", None) == "skip_figure" and c.args]

    names = set().union(*(strings(a) for a in skipped(tree)))
    for loop in ast.walk(tree):
        if isinstance(loop, ast.For) and isinstance(loop.target, ast.Name):
            if any(isinstance(a, ast.Name) and a.id == loop.target.id for a in skipped(loop)):
                names |= strings(loop.iter)
    return names


def test_every_skipped_figure_is_one_a_check_reads():
    """A skip that names a figure no check reads leaves the check to fail as "not measured"
    (busy-polling skipped napi_sleeps_busy where its check reads napi_sleeps_ratio)."""
    for s in discover.discover():
        read = {c.figure for c in s.checks} | {c.id for c in s.checks}
        stray = _skipped_names(s.procedure_path.read_text()) - read
        assert not stray, f"{s.name}: skip_figure names no check reads: {sorted(stray)}"
