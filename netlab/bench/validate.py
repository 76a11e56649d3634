"""`netlab bench validate`: how long a topology takes to read, parse, check and
plan, for generated files of growing size, and how fast hostile files are refused.
Parsing is timed with the YAML builder in use (``yaml_builder``) and with the Python
one (``parse_python``, the same as ``parse`` where it is the one in use).

Each file is also timed as a user meets it: `netlab validate FILE` in a new
process (``cli``), interpreter start and imports included, next to the bare
interpreter's start (``python``) for scale. No root and no kernel: it measures
the loader alone. Medians of --rounds runs, with the spread (min–max), all in
the same run.
"""

from __future__ import annotations

import ipaddress
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import typer

from netlab import loader, plan, source, ui, yamlread
from netlab.bench import sizes as bench_sizes
from netlab.builder import Topology
from netlab.errors import TopologyError

SHAPES = ("star", "chain")
MAX_NODES = 40_000  # a chain of 40,000 is ~7 MB, within what netlab reads (netlab.source.MAX_BYTES)


def star(hosts: int) -> str:
    """Hosts on bridges of at most 1,000 members (a bridge holds 1,023), automatic addresses."""
    topo = Topology("bench-validate").pool("lan", ipv4="198.18.0.0/15", prefix=22)
    for start in range(0, hosts, 1000):
        members = [f"h{i}" for i in range(start, min(start + 1000, hosts))]
        for member in members:
            topo.node(member)
        group = start // 1000
        topo.node(f"sw{group}").bridge(f"br{group}", node=f"sw{group}", members=members)
    return topo.to_yaml()


def chain(nodes: int) -> str:
    """Nodes in a line, every link in long form with explicit interfaces, addresses and MTU."""
    topo = Topology("bench-validate")
    for i in range(nodes):
        topo.node(f"n{i}")
    for i in range(nodes - 1):
        net = ipaddress.ip_address("198.18.0.0") + 4 * i
        topo.link({"node": f"n{i}", "interface": f"r{i}", "address": f"{net + 1}/30"},
                  {"node": f"n{i + 1}", "interface": f"l{i}", "address": f"{net + 2}/30"}, mtu=1400)
    return topo.to_yaml()


def hostile(nodes: int = 20000) -> dict[str, str]:
    """Files of each class that once hung or crashed netlab, or took seconds: the last two
    are the ``nodes`` chain with one mistake repeated on every link, as a generator makes
    it (40,000 problems took 3.2 s to report; a missing node's message listed every node)."""
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(8))
    good = chain(nodes)
    return {"alias bomb (10^9 values)": bomb + "name: l\nnodes: {a: {}}\n",
            "nesting 100,000 deep": "name: l\nnodes: " + "[" * 100_000 + "]" * 100_000 + "\n",
            "wrong types (500 nodes)": "name: l\nnodes:\n" + "".join(f"  h{i}: {i}\n" for i in range(500)),
            "chain: every address /33": good.replace("/30\n", "/33\n"),
            "chain: links name lost nodes": good.replace("\n  n", "\n  m", nodes)}


def _timed(work: Callable[[], object], rounds: int) -> dict:
    """The answer is freed after the clock stops, as `netlab validate` never frees it (it ends
    its process once the answer is written): freeing a 3.5 MB file's data was ~35 ms of its parse."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        answer = work()
        times.append(time.perf_counter() - started)
        del answer
    return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times)}


def _refused(text: str) -> None:
    try:
        loader.load_text(text, "<hostile>")
    except TopologyError:
        return
    raise AssertionError("a hostile file was accepted")


def _cli(path: Path, ok: bool) -> None:
    """`netlab validate FILE` in a new process, as a shell runs it; its answer checked."""
    done = subprocess.run([sys.executable, "-m", "netlab", "validate", str(path)], stdin=subprocess.DEVNULL,
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
    if (done.returncode == 0) != ok or b"Traceback" in done.stderr:
        raise AssertionError(f"netlab validate {path}: exit {done.returncode}: {done.stderr.decode()[-300:]}")


def yaml_builder() -> str:
    """The builder yamlread.parse uses: "c (libyaml 0.2.5)", or "python"."""
    if yamlread.BUILDER == "c":
        return f"c (libyaml {yamlread._yamlc.LIBYAML})"
    return yamlread.BUILDER


def _python_start() -> None:
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def run(sizes: list[int], rounds: int) -> dict:
    results: dict = {"yaml_builder": yaml_builder(), "python": _timed(_python_start, rounds), "valid": [],
                     "hostile": {}}
    with tempfile.TemporaryDirectory() as tmp:
        for shape in SHAPES:
            for n in sizes:
                path = Path(tmp) / f"{shape}-{n}.yaml"
                path.write_text(star(n) if shape == "star" else chain(n))
                text = source.read(path)[0]
                data = yamlread.parse(text, str(path))[0]
                topo = loader.load(path)
                results["valid"].append({
                    "shape": shape, "nodes": len(topo.nodes), "bytes": path.stat().st_size,
                    "read": _timed(lambda: source.read(path), rounds),
                    "parse": _timed(lambda: yamlread.parse(text, str(path)), rounds),
                    "parse_python": _timed(lambda: yamlread.parse(text, str(path), "python"), rounds),
                    "check": _timed(lambda: loader.load_data(data, str(path)), rounds),
                    "whole": _timed(lambda: loader.load(path), rounds),
                    "plan": _timed(lambda: plan.build(topo), rounds),
                    "cli": _timed(lambda: _cli(path, True), rounds)})
        for k, (name, text) in enumerate(hostile(max(sizes, default=500)).items()):
            path = Path(tmp) / f"hostile-{k}.yaml"
            path.write_text(text)
            results["hostile"][name] = {"bytes": len(text.encode()), **_timed(lambda: _refused(text), rounds),
                                        "cli": _timed(lambda: _cli(path, False), rounds)}
    return results


def _fmt(t: dict) -> str:
    return f"{t['median_s'] * 1000:8.1f} ms ({t['min_s'] * 1000:.0f}–{t['max_s'] * 1000:.0f})"


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("validate")
    def validate_cmd(sizes: str = typer.Option("1000,5000,20000", help="Node counts, comma-separated."),
                     rounds: int = typer.Option(5, help="Runs of each measurement (median and spread)."),
                     as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
                     ) -> None:
        """Time read, parse, check and plan of generated topologies, and the refusal of hostile ones."""
        results = run(bench_sizes.parse(sizes, "--sizes", MAX_NODES, "nodes", "1000,5000,20000"), max(1, rounds))
        if as_json:
            ui.emit_json(results)
            return
        ui.out.print(f"yaml builder {results['yaml_builder']}; python start (-c pass) {_fmt(results['python'])}",
                     highlight=False, soft_wrap=True)
        for r in results["valid"]:
            ui.out.print(f"{r['shape']:5} {r['nodes']:6,} nodes {r['bytes'] / 1e6:6.2f} MB  cli {_fmt(r['cli'])}"
                         f"  whole {_fmt(r['whole'])}  read {_fmt(r['read'])}  parse {_fmt(r['parse'])}"
                         f" (python builder {_fmt(r['parse_python']).strip()})"
                         f"  check {_fmt(r['check'])}  plan {_fmt(r['plan'])}", highlight=False, soft_wrap=True)
        for name, r in results["hostile"].items():
            ui.out.print(f"refused: {name:29} {r['bytes'] / 1e3:7.1f} kB  cli {_fmt(r['cli'])}  in-process {_fmt(r)}",
                         highlight=False, soft_wrap=True)
