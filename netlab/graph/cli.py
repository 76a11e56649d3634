"""`netlab graph FILE|LAB`: a picture of a topology file or of a running lab."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from netlab import loader, ui
from netlab.errors import NetlabError, UsageError


def register(app: typer.Typer) -> None:

    @app.command("graph")
    def graph_cmd(what: str = typer.Argument(..., help="A topology file, `-` (stdin), a pipe, or a running lab's name."),
                  fmt: str = typer.Option("mermaid", "--format", "-f", help="mermaid | dot | svg | png"),
                  output: Optional[Path] = typer.Option(None, "-o", "--output", help="Write here (svg/png: needed "
                                                                                     "when stdout is a terminal)."),
                  max_hosts: int = typer.Option(16, "--max-hosts", min=0, help="Plain hosts drawn per bridge; the "
                                                "rest are counted (0: draw all).")) -> None:
        """Nodes, bridges and links with interface names and addresses; NAT and forwarding marked.
        A running lab is drawn as the kernel reports it: a link that is down shows."""
        from netlab import graph, state  # the planner and the lab records: when a picture is asked for

        if fmt not in graph.FORMATS:
            raise UsageError(f"--format {fmt!r}: one of {', '.join(graph.FORMATS)}")
        if what != "-" and not Path(what).exists() and state.exists(what):
            picture = graph.of_lab(what)
        elif what != "-" and not Path(what).exists():
            raise UsageError(f"{what}: no such file, and no lab of that name is up (`netlab list`)")
        else:
            picture = graph.from_topology(loader.load(Path(what)))  # a file, `-`, a pipe: as `validate` reads it
        if max_hosts:
            picture = graph.summarize(picture, max_hosts)
        if fmt in ("svg", "png") and output is None and sys.stdout.isatty():
            raise NetlabError(f"{fmt} is binary: give -o FILE (or redirect stdout)")
        data = graph.draw(picture, fmt)
        if output:
            output.write_bytes(data)
            ui.err.print(f"wrote {output} ({fmt}, {len(picture.nodes)} nodes drawn)", highlight=False)
        else:
            sys.stdout.buffer.write(data)
            sys.stdout.flush()
