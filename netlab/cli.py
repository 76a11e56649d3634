"""The `netlab` command: parse arguments, call one function, print the result."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any, Optional

import typer
from typer.core import TyperGroup

# Only what reading a topology needs is imported here; each command imports the rest
# (the kernel and docker backends, pyroute2, the planner, Rich's tables) when it runs:
# they took ~0.3 s of every `netlab validate`, and a bad file given to `up` is refused
# before any of them loads.
from netlab import cli_bench, loader, share as sharing, signals, source, ui
from netlab.errors import UsageError

# Sub-commands that live in their own modules: name → the module whose register(app)
# adds it. A module is imported the first time one of its commands is asked for (to
# run, or to be listed by --help): importing them all took ~60 ms of every command.
PLUGINS = {"link": "netlab.cli_live", "impair": "netlab.cli_live", "generate": "netlab.generate.cli",
           "graph": "netlab.graph.cli", "lab": "netlab.labs.cli", "traffic": "netlab.traffic.cli"}


class _Commands(MutableMapping):
    """A group's sub-commands: its own, then the plug-ins', each module registered (its
    errors reported as every command's are: ui.report_errors) when first asked for."""

    def __init__(self, own: MutableMapping, plugins: dict[str, str]):
        self._built = dict(own)
        self._plugins = {name: module for name, module in plugins.items() if name not in own}
        self._names = list(own) + list(self._plugins)

    def __getitem__(self, name: str):
        if name not in self._built and name in self._plugins:
            staging = typer.Typer()
            importlib.import_module(self._plugins[name]).register(staging)
            ui.report_errors(staging)
            self._built.update(typer.main.get_group(staging).commands)
        return self._built[name]

    def __setitem__(self, name: str, command) -> None:
        if name not in self._names:
            self._names.append(name)
        self._built[name] = command

    def __delitem__(self, name: str) -> None:
        self._names.remove(name)
        self._built.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


def _group_with(plugins: dict[str, str]) -> type[TyperGroup]:
    class Group(TyperGroup):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.commands = _Commands(self.commands, plugins)

    return Group


app = typer.Typer(add_completion=False, no_args_is_help=True, cls=_group_with(PLUGINS),
                  help="Container-network labs on the real Linux kernel: build, inspect, measure, tear down.")
bench_app = typer.Typer(no_args_is_help=True, cls=_group_with(cli_bench.PLUGINS),
                        help="Benchmarks that print figures and ratios.")
app.add_typer(bench_app, name="bench")

JSON = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")
HOST = typer.Option(None, "--host", help="Only this host's share of a lab spread over machines (`hosts:` in the "
                    "file): its nodes, and a VXLAN device for each link to another host.")
TOPOLOGY = typer.Argument(..., help="A topology file, - for standard input, or a pipe such as <(netlab generate …).")


@app.command()
@ui.reader
def validate(topology: Path = TOPOLOGY, as_json: bool = JSON) -> Any:
    """Check a topology file; report every problem as file:line:col: field: message."""
    topo = loader.load(topology)
    if as_json:
        ui.emit_json({"ok": True, "lab": topo.name, "nodes": sorted(topo.nodes)})
    else:
        spread = sharing.spread(topo)
        over = f" over hosts {', '.join(spread)}" if len(spread) > 1 else ""
        ui.out.print(f"{topo.source}: ok (lab {topo.name}, {len(topo.nodes)} nodes{over})", highlight=False)
    return topo  # a reader's answer outlives it (ui.reader)


@app.command()
@ui.reader
def plan(topology: Path = TOPOLOGY, host: Optional[str] = HOST, as_json: bool = JSON) -> Any:
    """Print the ordered steps `up` would take; nothing is changed. A lab spread over
    hosts: each host's share (--host: that one only)."""
    from netlab import plan as planning

    topo = loader.load(topology)
    hosts = [host] if host else sharing.spread(topo)
    shares = [(h, planning.build(sharing.share(topo, h))) for h in hosts] if len(hosts) > 1 or host else \
        [(None, planning.build(topo))]
    if as_json:
        out = {h: [dict(s.to_json(), text=t) for s, t in zip(p.steps, p.lines())] for h, p in shares}
        ui.emit_json({"lab": topo.name, "steps": out[hosts[0]]} if len(out) == 1 and host else
                     {"lab": topo.name, "steps": out[None]} if None in out else {"lab": topo.name, "hosts": out})
        return shares
    for h, the_plan in shares:
        if h is not None:
            print(f"# host {h} ({topo.hosts[h].underlay}): {sharing.summary(topo, h)}")
        for i, line in enumerate(the_plan.lines(), 1):
            print(f"{i:4d}  {line}")
    return shares  # a reader's answer outlives it (ui.reader)


@app.command()
def up(topology: Path = TOPOLOGY, host: Optional[str] = HOST, as_json: bool = JSON) -> None:
    """Build a lab from a topology file, all or nothing (--host: only that host's share).
    A lab spread over hosts with `ssh:` builds every host's share, over ssh."""
    from netlab import deploy, plan as planning

    text, name = source.read(topology)
    topo = loader.load_text(text, name)
    if host:
        topo = sharing.share(topo, host)
    elif len(sharing.spread(topo)) > 1 or any(topo.hosts[h].ssh for h in sharing.spread(topo)):
        _up_spread(topo, text, as_json)  # other machines: driven over ssh
        return
    steps = len(planning.build(topo).steps)
    # SIGTERM and SIGHUP roll a half-built lab back, as Ctrl-C does
    with ui.progress(f"up {topo.name}", steps) as advance, signals.interruptible():
        the_plan = deploy.up(topo, advance, {"host": host} if host else None)
    if as_json:
        ui.emit_json({"ok": True, "lab": the_plan.lab, "steps": len(the_plan.steps),
                      "namespaces": the_plan.namespaces()})
    else:
        ui.err.print(f"lab {the_plan.lab} is up: {len(the_plan.namespaces())} nodes, {len(the_plan.steps)} steps",
                     highlight=False)


def _up_spread(topo, text: str, as_json: bool) -> None:
    from netlab import plan as planning, remote

    here, _ = remote.remotes(topo)
    steps = len(planning.build(sharing.share(topo, here)).steps) if here else 0
    with ui.progress(f"up {topo.name} on hosts {', '.join(sharing.spread(topo))}", steps) as advance, \
            signals.interruptible():
        built = remote.up(topo, text, advance)
    if as_json:
        ui.emit_json({"ok": True, "lab": topo.name, "hosts": built})
    else:
        each = ", ".join(f"{h} {n} steps" for h, n in built.items())
        ui.err.print(f"lab {topo.name} is up on {len(built)} hosts: {each}", highlight=False)


@app.command()
def down(lab: Optional[str] = typer.Argument(None), all_labs: bool = typer.Option(False, "--all",
         help="Take down every lab, and remove leftovers carrying netlab's mark."), as_json: bool = JSON) -> None:
    """Remove exactly what `up` made, from the lab name alone."""
    from netlab import deploy, remote, state

    if (lab is None) == (not all_labs):
        raise UsageError("give a lab name or --all")
    freeing = None
    # a second Ctrl-C or SIGTERM waits until the lab is gone, then acts (netlab.signals)
    with signals.deferred():
        if all_labs:
            labs, problems = deploy.down_all()
        else:
            nodes = len(state.listed_namespaces(lab))
            target = deploy.kernel_target(lab)
            problems = remote.down(lab)  # the other hosts' shares first: the record here names them
            with ui.progress(f"down {lab}", deploy.undo_count(lab)) as advance:
                problems += deploy.down(lab, advance)
            with ui.progress("the kernel frees the namespaces", nodes) as freed:
                freeing = deploy.wait_freed(target, 10 + nodes / 500, freed)
            labs = [lab]
    if as_json:
        ui.emit_json({"ok": not problems, "down": labs, "problems": problems, "kernel_freeing": freeing})
    else:
        for p in problems:
            ui.err.print(f"[yellow]warning:[/] {p}", highlight=False)
        ui.err.print(f"down: {', '.join(labs) or 'nothing to remove'}", highlight=False)
        if freeing:
            ui.err.print(f"the kernel is still freeing ~{freeing:,} namespaces (its cleanup_net work queue): "
                         "their names are gone and nothing of the lab answers any more", highlight=False)
    if problems:
        raise typer.Exit(1)


@app.command("list")
def list_labs(as_json: bool = JSON) -> None:
    """Labs that are up (and namespaces netlab left without a record)."""
    from rich.table import Table

    from netlab import deploy, remote

    labs = deploy.listing()
    hosts = {lab.name: remote.listed(lab.name) for lab in labs}
    if as_json:
        ui.emit_json([dict(lab.__dict__, **({"hosts": hosts[lab.name]} if hosts[lab.name] else {}))
                      for lab in labs])
        return
    table = Table("lab", "status", "nodes", "source", "other hosts")
    for lab in labs:
        table.add_row(lab.name, lab.status, str(lab.nodes), lab.source,
                      ", ".join(f"{h}: {s}" for h, s in hosts[lab.name].items()))
    ui.out.print(table)


@app.command()
def status(lab: Optional[str] = typer.Argument(None), as_json: bool = JSON) -> None:
    """Nodes, interfaces, addresses, routes and NAT rules as the kernel reports them."""
    from netlab import remote, status as lab_status

    views = [lab_status.lab_status(lab)] if lab else lab_status.every_lab()
    far = {view["lab"]: remote.statuses(view["lab"]) for view in views}
    if as_json:
        views = [dict(v, hosts=far[v["lab"]]) if far[v["lab"]] else v for v in views]
        ui.emit_json(views[0] if lab else views)
        return
    for view in views:
        _print_status(view)
        for host, other in far[view["lab"]].items():
            _print_status(dict(other, lab=f"{other.get('lab', view['lab'])} on host {host}"))


def _print_status(view: dict) -> None:
    from rich.table import Table

    if view.get("error"):
        ui.err.print(f"[yellow]lab {view['lab']}:[/] {view['error']}", highlight=False)
        return
    table = Table("node", "interface", "state", "mtu", "addresses", "impairments",
                  title=f"lab {view['lab']} ({view['status']})")
    for node, entry in view["nodes"].items():
        if "error" in entry:
            table.add_row(node, "-", f"[red]{entry['error']}[/]", "", "", "")
            continue
        for i in entry.get("interfaces", []):
            if i["name"] == "lo":
                continue
            master = f" (port of {i['master']})" if i.get("master") else ""
            shaping = " ".join(f"{k} {v}" for k, v in i.get("impairments", {}).items())
            table.add_row(node, f"{i['name']}{master}", i["state"] or "", str(i["mtu"]), " ".join(i["addresses"]),
                          shaping)
    ui.out.print(table)
    for node, entry in view["nodes"].items():
        for r in entry.get("routes", []):
            if r["to"] == "default" or r["via"]:
                ui.out.print(f"  {node}: route {r['to']} via {r['via']} dev {r['dev']}", highlight=False)
        nat = [o for o in entry.get("nftables", []) if "rule" in o]
        if nat:
            ui.out.print(f"  {node}: {len(nat)} nftables rule(s)", highlight=False)


@app.command(name="exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(lab: str, node: str, command: list[str] = typer.Argument(..., help="Command to run, after --"),
          as_json: bool = typer.Option(False, "--json", help="Capture the output; print {returncode, stdout, stderr}.")
          ) -> None:
    """Run a command in a node: netlab exec LAB NODE -- ping -c1 198.18.0.2"""
    from netlab import remote
    from netlab.node import run as run_in_node

    far = remote.host_of(lab, node)
    if far is not None:  # a node of a spread lab on another host: its netlab runs it
        raise typer.Exit(subprocess.run(far.argv("exec", lab, node, *(["--json"] if as_json else []), "--",
                                                 *command)).returncode)
    result = run_in_node(lab, node, command, capture=as_json)
    if as_json:
        ui.emit_json({"returncode": result.returncode, "stdout": result.stdout.decode(errors="replace"),
                      "stderr": result.stderr.decode(errors="replace")})
    raise typer.Exit(result.returncode)


@app.command()
def features(as_json: bool = JSON) -> None:
    """What this kernel can do (link kinds, qdiscs, nftables), probed in a throw-away namespace."""
    from rich.table import Table

    from netlab.backend import features as probe

    found = probe.probe()
    if as_json:
        ui.emit_json({name: {"available": why is None, "reason": why} for name, why in found.items()})
        return
    table = Table("feature", "available", "why not")
    for name, why in found.items():
        table.add_row(name, "[green]yes[/]" if why is None else "[red]no[/]", why or "")
    ui.out.print(table)


@app.command("schema")
def schema_(output: Optional[Path] = typer.Option(None, "-o", "--output")) -> None:
    """Print the topology file's JSON Schema (for yaml-language-server)."""
    from netlab import schema

    text = json.dumps(schema.topology_schema(), indent=2)
    if output:
        output.write_text(text + "\n")
    else:
        sys.stdout.write(text + "\n")


ui.report_errors(app)  # every command (plug-ins: as they are registered): errors as messages, never tracebacks


def main() -> None:
    ui.PROGRAM = True
    app()
