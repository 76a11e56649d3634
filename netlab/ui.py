"""Terminal output: Rich progress on stderr (quiet when it is not a terminal), JSON on stdout."""

from __future__ import annotations

import contextlib
import errno
import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from netlab.errors import NetlabError

err = Console(stderr=True)
out = Console()


@contextlib.contextmanager
def progress(label: str, total: int, enabled: bool = True) -> Iterator[Callable[[int], None]]:
    """A callback advancing a bar by n; a no-op when stderr is not a terminal."""
    if not enabled or not sys.stderr.isatty() or total <= 0:
        yield lambda n: None
        return
    # here, not at the top: Rich's progress (and its tables) cost a command that draws no bar ~10 ms
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


def fail(exc: Exception, as_json: bool, code: int = 1) -> None:
    """Report an error the user can act on (JSON on stdout, or a line on stderr) and exit with ``code``."""
    if as_json:
        body: dict[str, Any] = {"ok": False, "error": str(exc)}
        problems = getattr(exc, "problems", None)  # a TopologyError: each at file:line:col
        if problems:
            body["problems"] = [p.__dict__ for p in problems]
        emit_json(body)
    else:
        # the first line through Rich (its colour), the rest as plain text: a file with
        # 40,000 problems took Rich ~1.3 s to print; the message is text, never markup
        first, _, rest = str(exc).partition("\n")
        err.print(f"[red]error:[/] {escape(first)}", highlight=False, soft_wrap=True)
        if rest:
            err.file.write(rest + "\n")
            err.file.flush()
    raise typer.Exit(code)


def _kernel_error(exc: BaseException) -> bool:
    """An OSError, or pyroute2's NetlinkError (a kernel errno that is not an OSError)."""
    netlink = sys.modules.get("pyroute2.netlink.exceptions")  # not imported: none can have been raised
    return isinstance(exc, OSError) or bool(netlink and isinstance(exc, netlink.NetlinkError))


def describe(exc: BaseException) -> str:
    """The message of a NetlabError; for a kernel error its errno name and text, the file
    it concerns, and a hint where the cause is a missing privilege."""
    if isinstance(exc, NetlabError) or not _kernel_error(exc):
        return str(exc)
    code = getattr(exc, "errno", None) or getattr(exc, "code", None)
    standard = os.strerror(code) if isinstance(code, int) else ""
    text = getattr(exc, "strerror", None) or standard or str(exc)
    if standard and standard not in text:  # e.g. PermissionError(1, "unshare"): say what failed and why
        text = f"{text}: {standard}"
    where = [str(f) for f in (getattr(exc, "filename", None), getattr(exc, "filename2", None)) if f]
    name = errno.errorcode.get(code, "") if isinstance(code, int) else ""
    said = f"{text}{': ' + ' -> '.join(where) if where else ''}{f' ({name})' if name else ''}"
    if code in (errno.EPERM, errno.EACCES):
        said += ("; netlab needs root for this: run it with sudo" if os.geteuid() != 0 else
                 "; netlab runs as root but lacks a capability it needs (CAP_NET_ADMIN, CAP_SYS_ADMIN): "
                 "in a container, run it with --privileged")
    return said


def exit_code(exc: BaseException) -> int:
    """2 for what the user gave wrong (a bad topology file, an unknown name), 1 for the rest."""
    return getattr(exc, "exit_code", 1)


def reporting(command: Callable) -> Callable:
    """``command`` with a NetlabError or kernel error reported as ``fail`` does, never as a traceback."""
    if getattr(command, "__netlab_reporting__", False):
        return command

    @functools.wraps(command)
    def reported(*args: Any, **kwargs: Any) -> Any:
        try:
            result = command(*args, **kwargs)
        except Exception as exc:
            if not (isinstance(exc, NetlabError) or _kernel_error(exc)):
                raise
            as_json = bool(kwargs.get("as_json"))
            try:
                fail(exc if isinstance(exc, NetlabError) else NetlabError(describe(exc)), as_json, exit_code(exc))
            except typer.Exit as done:
                _end_now_if_reader(command, done.exit_code)
                raise
        _end_now_if_reader(command, 0)
        return result

    reported.__netlab_reporting__ = True  # type: ignore[attr-defined]
    return reported


PROGRAM = False  # set by netlab.cli.main: this is the `netlab` program, not a test's CliRunner


def reader(command: Callable) -> Callable:
    """Mark a command that only reads and answers (validate, plan): run as the `netlab`
    program, its process ends as soon as its answer is written. Freeing a multi-MB
    topology's million objects at interpreter exit took ~0.12 s of a 3.5 MB file's
    1.36 s (median of 6, one run); such a command holds no resource that needs an
    orderly exit (mypy ends the same way).
    The command returns what it read, so that it is still held when the process ends."""
    command.__netlab_reader__ = True  # type: ignore[attr-defined]
    return command


def _end_now_if_reader(command: Callable, code: int) -> None:
    if PROGRAM and getattr(command, "__netlab_reader__", False):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def report_errors(app: typer.Typer) -> None:
    """Wrap every command of ``app`` and of its sub-command groups (bench, lab, traffic, and
    any added later) in ``reporting``: the one place CLI errors become messages."""
    for info in app.registered_commands:
        info.callback = reporting(info.callback)
    for group in app.registered_groups:
        if group.typer_instance is not None:
            report_errors(group.typer_instance)
