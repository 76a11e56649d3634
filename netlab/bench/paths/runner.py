"""Run the benchmark: build the lab(s), calibrate, measure in interleaved
rounds, tear down, aggregate. Everything a run found goes into one dict."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

from netlab import builder, lifecycle, names, signals
from netlab.bench import cpuidle
from netlab.bench.paths import builtin, definitions, env as environment, reference, results
from netlab.bench.paths.definitions import PathDef
from netlab.bench.paths.launch import EngineError, Ends, cores
from netlab.errors import NetlabError

ENGINE_CHOICES = definitions.ENGINE_CHOICES
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Options:
    paths: list[str] | None = None
    metrics: list[str] | None = None
    rounds: int = 5
    engine: str = "builtin"
    seconds: float = 1.0
    warmup: float = 0.3
    same_core: bool = False
    lab: str = "bench-paths"
    tracepoint: bool = True
    calibrate: bool = True
    poll_idle: bool = True
    wait: str = "auto"     # rr and crr: sleep, spin, or auto (spin where idle CPUs cannot be held polling)


def engines(choice: str) -> tuple[str, ...]:
    if choice not in ENGINE_CHOICES:
        raise ValueError(f"unknown engine {choice!r} (engines: {', '.join(ENGINE_CHOICES)})")
    return ENGINE_CHOICES[choice]


def jobs(engine_names: tuple[str, ...], metrics: list[str]) -> list[tuple[str, str]]:
    """(engine, metric) pairs to run on every path: reference tools only for what they measure."""
    out = []
    for metric in metrics:
        out += [(e, metric) for e in engine_names if e == "builtin" or reference.ENGINES.get(e) == metric]
    return out


def measure(engine: str, metric: str, ends: Ends, opts: Options, spin: bool = False) -> dict:
    if engine == "builtin":
        return builtin.measure(ends, metric, opts.seconds, opts.warmup, opts.tracepoint, spin=spin)
    return reference.measure(engine, ends, opts.seconds, spin=spin)


def lab_name(base: str, topology: str) -> str:
    """The default topology's lab is ``base``; another file's is ``base-<stem>``."""
    if topology == definitions.DEFAULT_TOPOLOGY:
        return base
    return f"{base}-{Path(topology).stem.removeprefix('paths-')}"[:32]


def run(opts: Options, table: Mapping[str, PathDef] = definitions.PATHS, progress: Progress | None = None) -> dict:
    """The whole benchmark; the JSON-ready result (see results.build)."""
    defs = definitions.select(opts.paths, table)
    metrics = definitions.select_metrics(opts.metrics)
    notes: list[str] = []
    engine_names = tuple(e for e in engines(opts.engine) if e == "builtin" or not _missing(e, notes))
    todo = jobs(engine_names, metrics)
    if "loopback" not in [d.name for d in defs]:
        notes.append("no ratio to loopback: the loopback path, the baseline, is not in this run")
    client_cpu, server_cpu = cores(opts.same_core)
    advance = progress or (lambda n: None)
    started = time.time()
    errors: dict[str, str] = {}
    skipped: dict[str, str] = {}
    samples: list[dict] = []
    with signals.interruptible(), contextlib.ExitStack() as stack:
        ends, topos = _build(defs, opts, (client_cpu, server_cpu), stack, errors, skipped)
        env = environment.collect(ends, topos)
        if opts.tracepoint and env["tools"]["tracepoint"].startswith("unavailable"):
            notes.append(f"softirqs and netif_rx per transaction not counted: {env['tools']['tracepoint']}")
        env["cpu_idle"] = stack.enter_context(cpuidle.polling(opts.poll_idle))
        env["wait"] = cpuidle.wait_mode(opts.wait, env["cpu_idle"])
        spin = env["wait"]["mode"] == "spin"
        env["wait"].update(rr="spin" if spin else "block", crr="spin" if spin else "block", stream="block",
                           sockperf=" ".join(reference.SOCKPERF_SPIN) if spin else "default (epoll, blocking)")
        if not env["cpu_idle"]["held"] and not spin:
            notes.append(f"idle CPUs not held polling: {env['cpu_idle']['why']}; where an idle CPU halts, "
                         "waking it can outweigh a hop")
        if spin:
            notes.append(f"rr and crr spin: {env['wait']['why']}; stream blocks, as iperf3 does")
            env["wait"]["rr_loop"] = "C (spin.c)" if builtin.spin_loop() else "Python"
            if env["wait"]["rr_loop"] == "Python":
                notes.append("rr spins in Python (no C compiler: install gcc, `make install`): its ~1 µs a turn "
                             "sits in every round trip")
        calibration = _calibrate(ends, opts, engine_names, metrics, spin)
        for r in range(opts.rounds):
            names_ = list(ends)
            shift = r % max(len(names_), 1)
            for name in names_[shift:] + names_[:shift]:  # each round starts one path later
                pairs = todo if r % 2 == 0 else list(reversed(todo))
                for engine, metric in pairs:
                    samples.append(_one(name, engine, metric, r, ends[name], opts, spin))
                    advance(1)
        env["nodes_after"] = environment.lab_counters(topos)
    return results.build(opts=asdict(opts), defs=defs, metrics=metrics, engines=engine_names, samples=samples,
                         errors=errors, skipped=skipped, env=env, calibration=calibration, notes=notes,
                         cores={"client": client_cpu, "server": server_cpu, "same_core": client_cpu == server_cpu},
                         elapsed=time.time() - started)


def total_steps(opts: Options, table: Mapping[str, PathDef] = definitions.PATHS) -> int:
    defs = definitions.select(opts.paths, table)
    metrics = definitions.select_metrics(opts.metrics)
    return opts.rounds * len(defs) * len(jobs(engines(opts.engine), metrics))


def _missing(engine: str, notes: list[str]) -> bool:
    why = reference.missing(engine)
    if why:
        notes.append(f"{engine} skipped: {why}")
    return why is not None


def _one(name: str, engine: str, metric: str, r: int, ends: Ends, opts: Options, spin: bool) -> dict:
    try:
        res = measure(engine, metric, ends, opts, spin)
    except (EngineError, OSError, ValueError) as exc:
        res = {"engine": engine, "metric": metric, "error": str(exc)}
    return {"path": name, "round": r, **res}


def _build(defs: list[PathDef], opts: Options, cpus: tuple[int | None, int | None], stack: contextlib.ExitStack,
           errors: dict[str, str], skipped: dict[str, str]) -> tuple[dict[str, Ends], list]:
    """Bring up each topology the paths need; Ends per path that could be built, an error
    (or, for an extra path not asked for by name, a reason to skip it) for the rest."""
    base, explicit = opts.lab, opts.paths is not None
    ends: dict[str, Ends] = {}
    topos = []
    by_file: dict[str, list[PathDef]] = {}
    for d in defs:
        by_file.setdefault(d.topology, []).append(d)
    for topology, group in by_file.items():
        lab = lab_name(base, topology)
        try:
            topo = _up(topology, lab, stack)
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # a topology that cannot be built makes its paths errors, not the run
            why = f"lab {lab} from {topology} could not be built: {exc}"
            # an extra path (docker) nobody asked for by name is skipped where the machine cannot build
            # it; a topology file that is not there is a broken install, an error always
            optional = (not explicit and topology != definitions.DEFAULT_TOPOLOGY and isinstance(exc, NetlabError)
                        and definitions.topology_file(topology).is_file())
            for d in group:
                (skipped if optional else errors)[d.name] = why
            continue
        topos.append(topo)
        for d in group:
            missing = [n for n in (d.client, d.server) if n not in topo.nodes]
            if missing:
                errors[d.name] = f"node {missing[0]!r} is not in {topology}"
                continue
            try:
                address = d.server_address(topo)
            except LookupError as exc:
                errors[d.name] = str(exc)
                continue
            ends[d.name] = Ends(address, lab, d.client, d.server, *cpus)
    return ends, topos


def _up(topology: str, lab: str, stack: contextlib.ExitStack):
    """Bring up ``topology`` as ``lab`` (a lab of this name left up by a run that died is
    taken down first); one spread over hosts gets the hosts simulated here: an underlay lab
    whose nodes stand in for the hosts' own namespaces, up first, down last."""
    model = builder.load(definitions.topology_file(topology), name=lab).validate()
    if model.hosts:
        under = stack.enter_context(lifecycle.up(underlay(model, f"{lab}-u"[:32]), replace_stale=True))
        model = dataclasses.replace(model, stand_ins={h: names.netns(under.name, h) for h in model.hosts})
    return stack.enter_context(lifecycle.up(model, replace_stale=True)).topology


def underlay(model, lab: str) -> builder.Topology:
    """Two hosts' own namespaces as nodes, joined by a veth with their underlay addresses."""
    if len(model.hosts) != 2:
        raise ValueError(f"{model.source}: the bench simulates two hosts, not {len(model.hosts)}")
    (a, ha), (b, hb) = model.hosts.items()
    return (builder.Topology(lab, source=model.source).node(a).node(b)
            .link({"endpoint": f"{a}:up0", "address": f"{ha.underlay}/24"},
                  {"endpoint": f"{b}:up0", "address": f"{hb.underlay}/24"}))


def _calibrate(ends: dict[str, Ends], opts: Options, engine_names: tuple[str, ...],
               metrics: list[str], spin: bool = False) -> dict | None:
    """Built-in against sockperf on loopback, rr, before anything else (when both can run)."""
    if not opts.calibrate or "builtin" not in engine_names or "rr" not in metrics:
        return None
    why = reference.missing("sockperf")
    if why:
        return {"error": why}
    loop = ends.get("loopback")
    if loop is None:
        return None
    try:
        mine = builtin.measure(loop, "rr", opts.seconds, opts.warmup, tracepoint=False, spin=spin)
        ref = reference.measure("sockperf", loop, opts.seconds, spin=spin)
    except (EngineError, OSError) as exc:
        return {"error": str(exc)}
    return {"path": "loopback", "builtin_tps": mine["rate"], "sockperf_tps": ref["rate"],
            "ratio": round(mine["rate"] / ref["rate"], 3) if ref["rate"] else None,
            "builtin_p50_us": mine["latency_us"]["p50"], "sockperf_p50_us": ref["latency_us"]["p50"],
            "interference": mine["interference"]["flagged"] or ref["interference"]["flagged"]}
