"""`netlab traffic synflood|sweep|capture|craft LAB NODE ...`: scapy traffic from a lab node."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from netlab import ui
from netlab.errors import UsageError

JSON = typer.Option(False, "--json", help="Print machine-readable JSON on stdout.")


def _done(result, as_json: bool, text: str) -> None:
    if as_json:
        ui.emit_json(result)
    else:
        ui.out.print(text, highlight=False, markup=False)


def synflood_cmd(lab: str, node: str, to: str = typer.Option(..., "--to", help="Target address in the lab."),
                 port: int = typer.Option(..., "--port", min=1, max=65535),
                 count: int = typer.Option(1000, "--count", min=1),
                 seconds: float = typer.Option(5.0, "--seconds", help="Stop sending after this long."),
                 hold: float = typer.Option(0.0, "--hold", help="Drop this node's RSTs this long after, "
                                                                "so half-open requests stay queued."),
                 as_json: bool = JSON) -> None:
    """SYN flood at a port: prebuilt SYNs on one reused raw socket."""
    from netlab.traffic import api

    r = api.synflood(lab, node, to, port, count, seconds, hold)
    _done(r, as_json, f"{r['sent']:,} SYNs {r['src']} → {r['dst']}:{r['dport']} in {r['seconds']} s "
                      f"({r['pps']:,} packets/s, {r['distinct']} source ports)")


def sweep_cmd(lab: str, node: str, subnet: str = typer.Argument(..., help="e.g. 198.18.0.0/24"),
              mode: str = typer.Option("arp", "--mode", help="arp or ping"),
              seconds: float = typer.Option(1.0, "--seconds", help="How long to wait for answers."),
              as_json: bool = JSON) -> None:
    """Which addresses of a lab subnet answer (ARP or ICMP echo)."""
    from netlab.traffic import api

    if mode not in ("arp", "ping"):
        raise UsageError(f"--mode {mode!r}: use arp or ping")
    hosts = api.sweep(lab, node, subnet, mode, seconds)
    _done(hosts, as_json, "\n".join(f"{h['ip']}  {h.get('mac', '')}".rstrip() for h in hosts) or "no answer")


def capture_cmd(lab: str, node: str, output: Path = typer.Option(..., "-w", "--write", help="pcap file"),
                iface: Optional[str] = typer.Option(None, "-i", "--iface"),
                bpf: Optional[str] = typer.Option(None, "--filter", help="BPF filter, e.g. 'tcp port 80'"),
                count: int = typer.Option(100, "--count", min=1),
                seconds: float = typer.Option(5.0, "--seconds"),
                as_json: bool = JSON) -> None:
    """Capture in a node to a pcap file (AsyncSniffer), bounded by count and time."""
    from netlab.traffic import api

    r = api.capture(lab, node, str(output), iface, bpf, count, seconds)
    _done(r, as_json, f"{r['packets']} packets → {r['path']}")


def craft_cmd(lab: str, node: str, to: str = typer.Option(..., "--to"),
              proto: str = typer.Option("tcp", "--proto", help="tcp, udp or icmp"),
              dport: int = typer.Option(80, "--dport"), sport: int = typer.Option(40000, "--sport"),
              flags: str = typer.Option("S", "--flags", help="TCP flags, e.g. S, SA, F, R"),
              ttl: int = typer.Option(64, "--ttl"), count: int = typer.Option(1, "--count", min=1, max=100),
              handshake: bool = typer.Option(False, "--handshake", help="A whole handshake by hand (SYN, "
                                             "SYN-ACK, ACK) with this node's RST held back."),
              as_json: bool = JSON) -> None:
    """Send a hand-made packet from a node and show the answers."""
    from netlab.traffic import api

    if proto not in ("tcp", "udp", "icmp"):
        raise UsageError(f"--proto {proto!r}: use tcp, udp or icmp")
    if handshake:
        r = api.handshake(lab, node, to, dport)
        text = f"handshake with {to}:{dport} from port {r['sport']}: {r['state']}"
    else:
        r = api.craft(lab, node, to, count, proto=proto, dport=dport, sport=sport, flags=flags, ttl=ttl)
        text = "\n".join([f"sent {r['count']} × {r['sent']}", *(f"  ← {a}" for a in r["answers"]),
                          f"  {r['unanswered']} unanswered"])
    _done(r, as_json, text)


def register(app: typer.Typer) -> None:
    traffic_app = typer.Typer(no_args_is_help=True, help="scapy traffic from inside a lab node (lab addresses only).")
    traffic_app.command("synflood")(synflood_cmd)
    traffic_app.command("sweep")(sweep_cmd)
    traffic_app.command("capture")(capture_cmd)
    traffic_app.command("craft")(craft_cmd)
    app.add_typer(traffic_app, name="traffic")
