"""How many workers, client IPs and server ports a run needs, derived from the limits.

The arithmetic of book §8.4–8.5: a TCP connection is named by its 4-tuple, so
one client IP reaches one server ip:port with at most as many connections as
``ip_local_port_range`` has ports; more client IPs (§8.5.1, scheme ``ips``) or
more server ports (§8.5.2, scheme ``ports``) multiply that. Each process holds
at most RLIMIT_NOFILE descriptors, so each side needs target / nofile workers.
Nothing here touches the machine: ``derive`` takes a ``Limits`` and returns a
``Plan`` or raises ``LimitError`` naming the limit and the setting that lifts it.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import asdict, dataclass, field

from netlab.bench.conns.limits import Limits
from netlab.errors import NetlabError

SCHEMES = ("ips", "ports")
SOURCE_PORTS = ("bench", "kernel")
RESERVED_FDS = 64          # stdio, epoll, control pipe, listening sockets
# --source-ports kernel only: connect() searches the range for a free port, and a range filled past
# about a quarter per 4-tuple makes it crawl (docs/bench-conns.md: 50 µs → 600 µs per connect at 57 %)
PORT_FILL = 0.25
REUSEPORT_HEADROOM = 0.85  # SO_REUSEPORT spreads by hash: leave room for the unevenness
EST_BYTES_PER_CONN = 8 * 1024 + 512  # two sockets' slab (~7.7 KiB measured) + user space; for sizing only
SERVER_IP = "198.18.0.1"
CLIENT_NET = "198.18.0.0/16"
CLIENT_FIRST = "198.18.1.1"
SERVER_PORT = 5001
LAB_PORT_RANGE = (1024, 65535)
LAB_SOMAXCONN = 65535
LAB_SYN_BACKLOG = 65535
# Connections the clients may have made that no server has accepted yet: the servers nap between
# batches (DEFAULT_NAP), so at ~100,000/s a few thousand wait in the accept queues at any time.
DEFAULT_WINDOW = 8192
# A server worker sleeps this long after each accept batch: woken for every connection,
# the accept side cost ~12 µs of CPU per connection here; napping 50 ms, ~3.5 µs (the
# accept queues, somaxconn long, hold what arrives meanwhile).
DEFAULT_NAP = 0.05
GiB = 1 << 30
# Set in both lab namespaces (never the root's): what a connection need not cost there.
# docs/bench-conns.md has each one's A/B figures; `--sysctl KEY=VALUE` overrides one.
LEAN_SYSCTLS = {
    # nothing here speaks IPv6: no link-local addresses, no MLD/ND, no ip6 hooks on the veth
    "net.ipv6.conf.all.disable_ipv6": "1",
    "net.ipv6.conf.default.disable_ipv6": "1",
    # new namespaces inherit the host's default (bbr here): its per-ACK model is wasted on
    # connections that never send data
    "net.ipv4.tcp_congestion_control": "reno",
}


class LimitError(NetlabError):
    """A limit of this machine makes the target impossible; the message names it and what lifts it."""


@dataclass(frozen=True)
class Options:
    """What the user asked for; None means "derive it from the limits"."""

    target: int | None = 40000          # None: grow until the memory budget (`--target max`)
    scheme: str = "ips"
    hold: float = 0.0
    memory_budget: int | None = None
    memory_floor: int | None = None
    workers: int | None = None          # per side
    client_ips: int | None = None
    port_range: tuple[int, int] = LAB_PORT_RANGE
    somaxconn: int = LAB_SOMAXCONN
    window: int = DEFAULT_WINDOW
    accept_nap: float = DEFAULT_NAP
    source_ports: str = "bench"         # bench: bind() to (ip, port) chosen per connection; kernel: port 0
    active_clients: int | None = None   # client workers ramping at once (default: one per CPU)
    lab: str = "bench-conns"
    progress: bool = True
    sysctls: tuple[tuple[str, str], ...] = ()  # overrides of LEAN_SYSCTLS, both namespaces


@dataclass(frozen=True)
class Plan:
    """Everything a run will do, decided before any namespace exists."""

    lab: str
    scheme: str
    target: int
    ceiling: bool                       # `--target max`: target is an upper bound, the budget stops the ramp
    client_workers: int
    server_workers: int
    fds_per_worker: int
    client_ips: tuple[str, ...]
    server_ip: str
    server_ports: tuple[int, ...]
    port_range: tuple[int, int]
    somaxconn: int
    window: int
    accept_nap: float
    source_ports: str
    active_clients: int
    memory_floor: int
    memory_budget: int | None
    quotas: tuple[int, ...] = field(repr=False)
    sysctls: dict[str, str] = field(default_factory=dict)  # both lab namespaces

    @property
    def ports_per_ip(self) -> int:
        return self.port_range[1] - self.port_range[0] + 1

    def to_json(self) -> dict:
        out = asdict(self)
        out.pop("quotas")
        return out


def _fmt(n: float) -> str:
    return f"{n:,.0f}"


def _fd_cap(limits: Limits) -> int:
    return limits.nofile_hard - RESERVED_FDS


def memory_floor(limits: Limits, asked: int | None) -> int:
    """The MemAvailable the ramp never goes below: 10 % of RAM, at least 2 GiB, unless asked."""
    return asked if asked is not None else max(2 * GiB, limits.mem_total // 10)


def _target(opts: Options, limits: Limits, floor: int) -> int:
    room = limits.mem_available - floor
    if opts.target is not None:
        need = opts.target * EST_BYTES_PER_CONN
        if need > room:
            raise LimitError(
                f"memory: {_fmt(opts.target)} connections need about {need / GiB:.1f} GiB (two sockets each, "
                f"~{EST_BYTES_PER_CONN / 1024:.1f} KiB), but MemAvailable is {limits.mem_available / GiB:.1f} GiB "
                f"and the guard keeps {floor / GiB:.1f} GiB free; lower --target or --memory-floor")
        if opts.memory_budget is not None and need > opts.memory_budget * 1.5:
            raise LimitError(f"memory budget: {_fmt(opts.target)} connections need about {need / GiB:.1f} GiB, "
                             f"over --memory-budget {opts.memory_budget / GiB:.1f} GiB; raise it or lower --target")
        return opts.target
    # sized by the budget when one is given: if MemAvailable runs out first, the guard says so
    budget = opts.memory_budget or room
    if room < 64 * 1024 * 1024:
        raise LimitError(f"memory: MemAvailable {limits.mem_available / GiB:.1f} GiB leaves no room above the "
                         f"guard's floor of {floor / GiB:.1f} GiB; lower --memory-floor")
    # workers for 30 % more than the estimate: the budget, not the plan, ends a `max` run
    return int(budget / EST_BYTES_PER_CONN * 1.3)


def _workers(opts: Options, target: int, cap: int, range_size: int) -> tuple[int, int]:
    client = max(1, math.ceil(target / cap))
    if opts.scheme == "ips":
        server = max(1, math.ceil(target / (cap * REUSEPORT_HEADROOM)))
    else:  # one port per server worker: enough ports for the 4-tuples, and enough descriptors
        server = max(1, math.ceil(target / cap), math.ceil(target / (range_size * PORT_FILL)))
    if opts.workers is not None:
        client = server = opts.workers
    return client, server


def _check_fds(opts: Options, limits: Limits, target: int, client: int, server: int, cap: int) -> None:
    # SO_REUSEPORT spreads by hash: in scheme ips a server worker must keep some room spare
    room = cap * (REUSEPORT_HEADROOM if opts.scheme == "ips" and server > 1 else 1)
    if target / client > cap or target / server > room:
        per_worker = math.ceil(target / min(client, server))
        need = max(math.ceil(target / cap), math.ceil(target / (cap * REUSEPORT_HEADROOM))
                   if opts.scheme == "ips" else 0)
        raise LimitError(
            f"file descriptors: {_fmt(per_worker)} sockets per worker, but RLIMIT_NOFILE's hard limit is "
            f"{_fmt(limits.nofile_hard)} per process (`ulimit -Hn`; raising it needs CAP_SYS_RESOURCE, "
            f"up to fs.nr_open = {_fmt(limits.nr_open)}); use --workers {need} or more")
    if 2 * client + server + 16 > min(limits.nproc, limits.pid_max):
        raise LimitError(f"processes: {client + server} workers exceed RLIMIT_NPROC ({_fmt(limits.nproc)}, "
                         f"`ulimit -u`) or kernel.pid_max ({_fmt(limits.pid_max)}); lower --target")
    if limits.file_max_applies and limits.files_open + 2 * target > limits.file_max:
        raise LimitError(f"open files: {_fmt(2 * target)} sockets would pass fs.file-max = {_fmt(limits.file_max)} "
                         f"({_fmt(limits.files_open)} open now); it is global: raise it in the root namespace "
                         f"(sysctl -w fs.file-max=...) or run with CAP_SYS_ADMIN, which it does not bind")


def _check_ports(opts: Options, target: int, n_ips: int, n_ports: int, range_size: int) -> None:
    capacity = n_ips * n_ports * range_size
    if target > capacity:
        lo, hi = opts.port_range
        lift = (f"use --client-ips {math.ceil(target / (n_ports * range_size * PORT_FILL))} or more"
                if opts.scheme == "ips" else "use --workers (one server port each) or --scheme ips")
        raise LimitError(
            f"local ports: {n_ips} client IP(s) × {n_ports} server port(s) × {_fmt(range_size)} ports in "
            f"net.ipv4.ip_local_port_range ({lo} {hi}) = {_fmt(capacity)} distinct 4-tuples, fewer than "
            f"{_fmt(target)}; {lift}, or widen --port-range (at most 1024-65535)")


def _check_backlog(opts: Options, listeners: int) -> int:
    """The window of connections not yet accepted, checked against the listen backlogs.

    What the servers have not yet accepted waits in the listeners' accept queues,
    each at most net.core.somaxconn long. A window the queues cannot hold loses
    handshakes (a SYN to a full queue is dropped and sent again a second later)
    and the ramp crawls. SO_REUSEPORT spreads by hash, so half the room is used."""
    room = opts.somaxconn * listeners // (2 if listeners > 1 else 1)
    if opts.window > room:
        raise LimitError(
            f"accept backlog: --window {_fmt(opts.window)} connections may wait unaccepted, but "
            f"net.core.somaxconn = {opts.somaxconn} × {listeners} listening socket(s) leaves room for {_fmt(room)}; "
            f"raise --somaxconn (set in the server namespace only, up to {LAB_SOMAXCONN}) or lower --window "
            f"to {_fmt(room)}")
    return opts.window


def check_conntrack(target: int, conntrack_max: int | None, tracking: bool) -> None:
    """Stop if the lab's namespaces track connections and the global table is too small."""
    if tracking and conntrack_max is not None and target > conntrack_max:
        raise LimitError(
            f"conntrack: the lab's namespaces track connections and net.netfilter.nf_conntrack_max = "
            f"{_fmt(conntrack_max)} < {_fmt(target)}; it is global (read-only in a namespace): raise it in the "
            f"root namespace, or drop the firewall rules that load conntrack in the lab")


def _client_ips(opts: Options, target: int, range_size: int) -> int:
    """Client IPs for scheme ips: with ports chosen by the bench every port of a range serves
    (connect() searches nothing, its cost does not grow as the range fills); with ports left
    to the kernel only PORT_FILL of each range, past which connect()'s search crawls."""
    fill = 1.0 if opts.source_ports == "bench" else PORT_FILL
    return max(1, math.ceil(target / (range_size * fill)))


def client_addresses(n: int) -> tuple[str, ...]:
    first = ipaddress.IPv4Address(CLIENT_FIRST)
    return tuple(str(first + i) for i in range(n))


def derive(opts: Options, limits: Limits) -> Plan:
    """The plan for ``opts`` on a machine with ``limits``; LimitError if a limit forbids it."""
    if opts.scheme not in SCHEMES:
        raise LimitError(f"scheme {opts.scheme!r} is not one of: {', '.join(SCHEMES)}")
    if opts.source_ports not in SOURCE_PORTS:
        raise LimitError(f"--source-ports {opts.source_ports!r} is not one of: {', '.join(SOURCE_PORTS)}")
    lo, hi = opts.port_range
    if not 1 <= lo <= hi <= 65535:
        raise LimitError(f"--port-range {lo}-{hi} is not a port range (e.g. 1024-65535)")
    range_size = hi - lo + 1
    floor = memory_floor(limits, opts.memory_floor)
    target = _target(opts, limits, floor)
    cap = _fd_cap(limits)
    client, server = _workers(opts, target, cap, range_size)
    n_ips = 1 if opts.scheme == "ports" else opts.client_ips or _client_ips(opts, target, range_size)
    if opts.scheme == "ports" and opts.client_ips not in (None, 1):
        raise LimitError("scheme ports uses one client IP (book §8.5.2); use --scheme ips for --client-ips")
    ports = tuple(SERVER_PORT + i for i in range(server)) if opts.scheme == "ports" else (SERVER_PORT,)
    _check_fds(opts, limits, target, client, server, cap)
    _check_ports(opts, target, n_ips, len(ports), range_size)
    window = _check_backlog(opts, server)
    quotas = tuple(target // client + (1 if i < target % client else 0) for i in range(client))
    return Plan(lab=opts.lab, scheme=opts.scheme, target=target, ceiling=opts.target is None,
                client_workers=client, server_workers=server, fds_per_worker=cap,
                client_ips=client_addresses(n_ips), server_ip=SERVER_IP, server_ports=ports,
                port_range=opts.port_range, somaxconn=opts.somaxconn, window=window,
                accept_nap=opts.accept_nap, source_ports=opts.source_ports,
                active_clients=min(client, opts.active_clients or max(1, limits.cpus)),
                memory_floor=floor, memory_budget=opts.memory_budget, quotas=quotas,
                sysctls=lab_sysctls(opts.sysctls))


def lab_sysctls(overrides: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """LEAN_SYSCTLS with ``overrides`` applied; an empty value drops a key (the kernel's default)."""
    out = dict(LEAN_SYSCTLS)
    for key, value in overrides:
        if not key.startswith("net."):
            raise LimitError(f"--sysctl {key}: only per-namespace net.* sysctls are set in the lab")
        if value == "":
            out.pop(key, None)
        else:
            out[key] = value
    return out
