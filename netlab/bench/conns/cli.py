"""CLI of `netlab bench conns`: parse the flags, call the runner, print the figures."""

from __future__ import annotations

from typing import Optional

import typer

from netlab import signals, ui
from netlab.bench.conns import parse_size, parse_target
from netlab.bench.conns.plan import DEFAULT_WINDOW, LAB_PORT_RANGE, LAB_SOMAXCONN, Options


def _port_range(text: str) -> tuple[int, int]:
    lo, sep, hi = text.replace(" ", "-").partition("-")
    if not sep or not lo.isdigit() or not hi.isdigit():
        raise typer.BadParameter(f"{text!r} is not a port range (e.g. 1024-65535)")
    return int(lo), int(hi)


def _size(text: Optional[str]) -> Optional[int]:
    try:
        return parse_size(text) if text is not None else None
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def _sysctl(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise typer.BadParameter(f"{text!r} is not KEY=VALUE (e.g. net.ipv4.tcp_congestion_control=cubic)",
                                 param_hint="--sysctl")
    return key.strip(), value.strip()


def register(bench_app: typer.Typer) -> None:
    @bench_app.command("conns")
    def conns_cmd(
        target: str = typer.Option("40000", "--target", help="Concurrent connections, or 'max' (grow until "
                                   "--memory-budget or the memory guard)."),
        scheme: str = typer.Option("ips", "--scheme", help="ips: many client IPs, one server port (book "
                                   "§8.5.1); ports: one client IP, many server ports (§8.5.2)."),
        hold: float = typer.Option(0.0, "--hold", min=0, help="Seconds to hold every connection, "
                                   "checking the count in /proc/net/sockstat."),
        memory_budget: Optional[str] = typer.Option(None, "--memory-budget", help="Stop the ramp when slab "
                                                    "growth + workers' PSS reach this (e.g. 16GiB)."),
        memory_floor: Optional[str] = typer.Option(None, "--memory-floor", help="Stop the ramp before "
                                                   "MemAvailable falls below this (default 10 % of RAM, ≥ 2 GiB)."),
        workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Workers per side (default: "
                                              "derived from RLIMIT_NOFILE)."),
        client_ips: Optional[int] = typer.Option(None, "--client-ips", min=1, help="Client addresses "
                                                 "(default: derived from the port range)."),
        port_range: str = typer.Option(f"{LAB_PORT_RANGE[0]}-{LAB_PORT_RANGE[1]}", "--port-range",
                                       help="net.ipv4.ip_local_port_range in the client namespace."),
        somaxconn: int = typer.Option(LAB_SOMAXCONN, "--somaxconn", min=1,
                                      help="net.core.somaxconn in the server namespace."),
        window: int = typer.Option(DEFAULT_WINDOW, "--window", min=1, help="Connections the clients may have "
                                   "made that the servers have not accepted yet (flow control)."),
        source_ports: str = typer.Option("bench", "--source-ports", help="bench: bind() each connection to a "
                                         "(source IP, port) chosen by the bench; kernel: let connect() search a "
                                         "free port (IP_BIND_ADDRESS_NO_PORT)."),
        active: Optional[int] = typer.Option(None, "--active", min=1, help="Client workers ramping at once "
                                             "(default: one per CPU)."),
        sysctl: list[str] = typer.Option([], "--sysctl", help="KEY=VALUE set in both lab namespaces, over the "
                                          "bench's own (IPv6 off, reno); KEY= drops one. Repeatable."),
        report_dir: Optional[str] = typer.Option(None, "--report", help="Write report.md and ramp.png "
                                                 "(ramp curve with the CPU split under it) into DIR."),
        rounds: int = typer.Option(1, "--rounds", min=1, help="Runs, each in a fresh lab; the median is reported."),
        lab: str = typer.Option("bench-conns", "--lab", help="Lab name (namespaces nl.<lab>.client/server)."),
        show_plan: bool = typer.Option(False, "--plan", help="Print the derived plan and limits; build nothing."),
        as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON on stdout."),
    ) -> None:
        """Open many concurrent TCP connections between two lab namespaces; print time, rate and
        the kernel's and user space's bytes per connection."""
        from netlab.bench.conns import limits, plan as planning, report, runner

        try:
            goal = parse_target(target)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--target") from None
        opts = Options(target=goal, scheme=scheme, hold=hold, memory_budget=_size(memory_budget),
                       memory_floor=_size(memory_floor), workers=workers, client_ips=client_ips,
                       port_range=_port_range(port_range), somaxconn=somaxconn, window=window, lab=lab,
                       source_ports=source_ports, active_clients=active, progress=not as_json,
                       sysctls=tuple(_sysctl(x) for x in sysctl))
        try:
            if show_plan:
                found = limits.read()
                body = {"plan": planning.derive(opts, found).to_json(), "limits": found.to_json()}
                ui.emit_json(body) if as_json else ui.out.print_json(data=body)
                return
            result = runner.run_rounds(opts, rounds)
        except KeyboardInterrupt as exc:
            said = f"interrupted ({str(exc) or 'Ctrl-C'}): lab {lab} torn down, every worker ended"
            if as_json:
                ui.emit_json({"ok": False, "error": said})
            ui.err.print(said, highlight=False)
            raise typer.Exit(signals.exit_code(exc)) from None
        if report_dir:
            from netlab.bench.conns import chart

            result["report"] = chart.write(result, report_dir)
        if as_json:
            ui.emit_json(result)
        else:
            for line in report.lines(result):
                ui.out.print(line, highlight=False, markup=False)
        if not result["reached"] and result["target"] is not None:
            raise typer.Exit(1)
