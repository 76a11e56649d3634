"""`netlab generate star|linear|tree|clos|nat`: a topology file on stdout."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Optional

import typer

from netlab import generate, ui
from netlab.errors import NetlabError, UsageError

NAME = typer.Option(None, "--name", help="Lab name (default: the shape's name).")
OUTPUT = typer.Option(None, "-o", "--output", help="Write the file here instead of stdout.")


def _emit(shape: str, make: Callable[[], dict], flags: dict, name: Optional[str], output: Optional[Path]) -> None:
    """Generate, check (as `validate` would) and print; a bad parameter is one line on stderr, exit 2."""
    from netlab import loader

    command = " ".join([f"netlab generate {shape}"] + [f"--{k} {v}" for k, v in flags.items()]
                       + ([f"--name {name}"] if name else []))
    try:
        data = make()
        if name:
            data["name"] = name
        loader.load_data(data, f"<{command}>")
    except NetlabError as exc:  # a bad parameter: a usage error (exit 2), reported by ui.report_errors
        raise UsageError(str(exc)) from None
    text = generate.to_yaml(data, f"{command}\nplain YAML, yours to edit: `netlab validate FILE` checks it.")
    if output:
        output.write_text(text)
    else:
        sys.stdout.write(text)


def register(app: typer.Typer) -> None:
    gen = typer.Typer(no_args_is_help=True, help="Write a topology of a given shape and size (YAML on stdout).")
    app.add_typer(gen, name="generate")

    @gen.command("star")
    def star(hosts: int = typer.Option(..., "--hosts", help="Hosts on the LAN (trunked bridges past 500 hosts)."),
             name: Optional[str] = NAME, output: Optional[Path] = OUTPUT) -> None:
        """Hosts h1..hN on one LAN in switch node `sw` (mn --topo single,N)."""
        _emit("star", lambda: generate.star(hosts), {"hosts": hosts}, name, output)

    @gen.command("linear")
    def linear(routers: int = typer.Option(..., "--routers", help="Routers in the chain (at most 62)."),
               hosts_per_router: int = typer.Option(1, "--hosts-per-router", help="Hosts on each router's LAN."),
               name: Optional[str] = NAME, output: Optional[Path] = OUTPUT) -> None:
        """A chain of routers r1..rN, each with a LAN; static routes: every host reaches every other."""
        _emit("linear", lambda: generate.linear(routers, hosts_per_router),
              {"routers": routers, "hosts-per-router": hosts_per_router}, name, output)

    @gen.command("tree")
    def tree(depth: int = typer.Option(..., "--depth", help="Levels of switches."),
             fanout: int = typer.Option(..., "--fanout", help="Children of each switch (hosts below the last level)."),
             name: Optional[str] = NAME, output: Optional[Path] = OUTPUT) -> None:
        """Bridges in a tree, fanout**depth hosts at the leaves, one LAN (mn --topo tree,depth,fanout)."""
        _emit("tree", lambda: generate.tree(depth, fanout), {"depth": depth, "fanout": fanout}, name, output)

    @gen.command("clos")
    def clos(spines: int = typer.Option(..., "--spines"), leaves: int = typer.Option(..., "--leaves"),
             hosts_per_leaf: int = typer.Option(1, "--hosts-per-leaf", help="Hosts on each leaf's LAN."),
             name: Optional[str] = NAME, output: Optional[Path] = OUTPUT) -> None:
        """A routed leaf–spine fabric with static routes spread over the spines."""
        _emit("clos", lambda: generate.clos(spines, leaves, hosts_per_leaf),
              {"spines": spines, "leaves": leaves, "hosts-per-leaf": hosts_per_leaf}, name, output)

    @gen.command("nat")
    def nat(hosts: int = typer.Option(..., "--hosts", help="Hosts behind the gateway."),
            name: Optional[str] = NAME, output: Optional[Path] = OUTPUT) -> None:
        """The book's §10.5 network: hosts behind a masquerading gateway, a port forward to h1:80."""
        _emit("nat", lambda: generate.nat(hosts), {"hosts": hosts}, name, output)
