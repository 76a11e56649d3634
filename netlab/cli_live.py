"""`netlab link` and `netlab impair`: change a lab that is up (netlab.live). Errors are
reported by netlab.ui's one reporter, as for every command."""

from __future__ import annotations

from typing import Optional

import typer

from netlab import ui
from netlab.errors import UsageError

JSON = typer.Option(False, "--json", help="Print the link end as JSON on stdout.")


def _say(view: dict, as_json: bool) -> None:
    if as_json:
        ui.emit_json(view)
        return
    shaping = ", ".join(f"{k} {view[k]}" for k in ("rate", "loss", "delay") if k in view) or "no impairments"
    peer = view["peer"]
    ui.out.print(f"{view['endpoint']}: {view['state']}, {shaping} "
                 f"(other end {peer['interface']} in {peer['netns'] or 'the root namespace'})", highlight=False)


def link_cmd(lab: str = typer.Argument(..., metavar="LAB"), endpoint: str = typer.Argument(..., metavar="NODE:IFACE"),
             state: str = typer.Argument(..., metavar="up|down"), as_json: bool = JSON) -> None:
    """Take one end of a link down (nothing passes either way) or up again."""
    from netlab.live import Link

    if state not in ("up", "down"):
        raise UsageError(f"{state!r}: say up or down")
    end = Link(lab, endpoint)
    _say(end.up() if state == "up" else end.down(), as_json)


def impair_cmd(lab: str = typer.Argument(..., metavar="LAB"), endpoint: str = typer.Argument(..., metavar="NODE:IFACE"),
               rate: Optional[str] = typer.Option(None, "--rate", help="e.g. 10mbit (tbf)"),
               loss: Optional[str] = typer.Option(None, "--loss", help="e.g. 5% (nftables numgen drop)"),
               delay: Optional[str] = typer.Option(None, "--delay", help="e.g. 20ms (netem, where the kernel has it)"),
               reset: bool = typer.Option(False, "--reset", help="Remove every impairment first (the file's too)."),
               show: bool = typer.Option(False, "--show", help="Print the impairments; change nothing."),
               as_json: bool = JSON) -> None:
    """Change what NODE:IFACE does to the packets it sends: rate, loss, delay (the others stay)."""
    from netlab.live import Link

    asked = {"rate": rate, "loss": loss, "delay": delay}
    if show and (reset or any(asked.values())):
        raise UsageError("--show changes nothing: give it alone")
    end = Link(lab, endpoint)
    view = end.show()
    if reset:
        view = end.reset()
    if any(asked.values()):
        view = end.set(**asked)
    _say(view, as_json)


def register(app: typer.Typer) -> None:
    app.command("link")(link_cmd)
    app.command("impair")(impair_cmd)
