"""The figures of a run as a JSON-ready dict, and the lines printed for a person."""

from __future__ import annotations

from netlab.bench.conns import memory
from netlab.bench.conns.limits import Limits
from netlab.bench.conns.plan import GiB, Plan

KiB = 1024


def figures(plan: Plan, limits: Limits, ramp: dict, established: int, before: memory.Snapshot,
            cost: memory.Cost, held: dict) -> dict:
    """Everything a run measured; the keys issue 4 names come first."""
    setup = ramp["end"] - ramp["t0"]
    aliases = memory.merged_caches()
    own, others = cost.split(aliases)
    sockets = max(1, cost.sockets)
    noise = dict(sorted(((n, d) for n, d in others.items() if abs(d) >= cost.slab_delta * 0.01),
                        key=lambda kv: -abs(kv[1])))
    series = ramp["series"]
    return {
        "target": None if plan.ceiling else plan.target,
        "established": established,
        "setup_s": round(setup, 3),
        "rate_cps": round(established / setup) if setup > 0 else 0,
        "kernel_bytes_per_conn": round(cost.kernel_bytes_per_conn),
        "kernel_bytes_per_socket": round(cost.kernel_bytes_per_socket),
        "user_bytes_per_conn": round(cost.pss / established) if established else 0,
        "workers": {"client": plan.client_workers, "server": plan.server_workers},
        "client_ips": len(plan.client_ips),
        "slab": cost.caches(aliases=aliases),
        "scheme": plan.scheme,
        "reached": ramp["reached"],
        "stopped_by": ramp["stopped_by"],
        "ceiling": established if plan.ceiling else None,
        "peak_rate_cps": max((p["rate_cps"] for p in series), default=0),
        "ramp_cpu": ramp["cpu"],
        # exact CPU of the workers and the softirq threads (schedstat), per connection
        "cpu_us_per_conn": ramp["cpu"].get("us_per_conn", {}).get("total"),
        "cpu": {"ramp": ramp["cpu"], "hold": held.get("cpu")},
        "source_ports": plan.source_ports,
        "active_clients": plan.active_clients,
        "limits_ahead": limits_ahead(plan, limits, cost, established, before),
        "series": series,
        "memory": {
            "slab_growth": cost.slab_delta,
            "meminfo_slab_growth": cost.meminfo_slab_delta,
            "meminfo_bytes_per_socket": round(cost.meminfo_bytes_per_socket),
            "slabinfo_vs_meminfo_pct": round(cost.agreement_pct, 2),
            "connection_caches_bytes_per_socket": round(own / sockets),
            "other_caches_growth": noise,
            "workers_pss": cost.pss,
            "workers_pss_before": before.pss,
            "mem_available_before": before.meminfo.get("MemAvailable"),
        },
        "sockstat": held["sockstat"],
        "conntrack": held["conntrack"],
        "hold": {k: held[k] for k in ("hold_s", "checks", "verified")},
        "tcp_ehash_entries": held["ehash_entries"],  # negative: the host's shared table
        "server_ports": len(plan.server_ports),
        "plan": plan.to_json(),
        "limits": limits.to_json(),
    }


def limits_ahead(plan: Plan, limits: Limits, cost: memory.Cost, established: int,
                 before: memory.Snapshot) -> list[dict]:
    """Each limit of this machine as the number of connections at which it would stop a run,
    lowest first, at the cost per connection this run measured: what a bigger run meets next."""
    per_conn = (cost.slab_delta + cost.pss) / established if established else 0
    room = before.meminfo.get("MemAvailable", limits.mem_available) - plan.memory_floor
    procs = min(limits.nproc, limits.pid_max) - 16
    ahead = [
        {"limit": "memory (MemAvailable above the guard's floor)",
         "connections": int(room / per_conn) if per_conn else None,
         "detail": f"{per_conn / KiB:.2f} KiB per connection (slab + workers' PSS), "
                   f"{_gib(room)} above the floor of {_gib(plan.memory_floor)}"},
        {"limit": "processes (kernel.pid_max, RLIMIT_NPROC)", "connections": procs // 2 * plan.fds_per_worker,
         "detail": f"{procs:,} processes, one client and one server worker per {plan.fds_per_worker:,} connections"},
        {"limit": "client addresses × local ports", "connections": (1 << 16) * plan.ports_per_ip,
         "detail": f"a /16 of client IPs × {plan.ports_per_ip:,} ports each"},
    ]
    if limits.file_max_applies:
        ahead.append({"limit": "fs.file-max", "connections": (limits.file_max - limits.files_open) // 2,
                      "detail": "two open files per connection; global, raised only in the root namespace"})
    return sorted(ahead, key=lambda a: a["connections"] if a["connections"] is not None else 1 << 62)


def _gib(n: float) -> str:
    return f"{n / GiB:.2f} GiB"


def lines(result: dict) -> list[str]:
    """A person's summary of ``result``."""
    mem = result["memory"]
    what = (f"ceiling {result['established']:,} connections" if result["ceiling"] is not None
            else f"{result['established']:,} of {result['target']:,} connections")
    noise = ", ".join(f"{n} {d / GiB:+.2f} GiB" for n, d in mem["other_caches_growth"].items())
    out = [
        f"{what} ({result['scheme']} scheme: {result['client_ips']} client IP(s), "
        f"{result['server_ports']} server port(s), {result['workers']['client']}+{result['workers']['server']} workers)",
        f"setup {result['setup_s']:.2f} s, {result['rate_cps']:,} conn/s (peak {result['peak_rate_cps']:,}); "
        f"CPU {result['cpu_us_per_conn']} µs per connection ({_split(result['ramp_cpu'])})",
        f"kernel: {result['kernel_bytes_per_conn'] / KiB:.2f} KiB per connection, "
        f"{result['kernel_bytes_per_socket']:,} B per socket (slabinfo; /proc/meminfo Slab says "
        f"{mem['meminfo_bytes_per_socket']:,} B, {mem['slabinfo_vs_meminfo_pct']:+.2f} %); slab +{_gib(mem['slab_growth'])}",
        f"  of which the connection's own caches: {mem['connection_caches_bytes_per_socket']:,} B per socket"
        + (f"; the rest grew in caches a connection does not use (other activity): {noise}" if noise else ""),
        f"user space: {result['user_bytes_per_conn']:,} B per connection (workers' PSS {_gib(mem['workers_pss'])})",
        "slab caches: " + ", ".join(f"{name} {v['bytes_per_conn']:,.0f} B" for name, v in
                                    list(result["slab"].items())[:6]),
    ]
    st = result["sockstat"]
    out.append(f"sockstat: client TCP inuse {st['client']['TCP']['inuse']:,}, server TCP inuse "
               f"{st['server']['TCP']['inuse']:,}; conntrack entries {result['conntrack']['client']}/"
               f"{result['conntrack']['server']}" + (" (hold verified)" if result["hold"]["verified"] else
                                                     " (HOLD COUNT MISMATCH)"))
    td = result.get("teardown")
    if td:
        tw = td["time_wait"]
        per = f", tw_sock_TCP ~{td['bytes_per_time_wait']:,} B each" if td.get("bytes_per_time_wait") else ""
        out.append(f"teardown: TIME_WAIT client {tw['client']:,} / server {tw['server']:,} "
                   f"(tcp_max_tw_buckets {td['tcp_max_tw_buckets']:,}{per}), closed in {td['close_s']:.1f} s")
    if result["stopped_by"]:
        out.append(result["stopped_by"])
        nxt = result["limits_ahead"][:2]
        out.append("limits ahead: " + "; ".join(f"{a['limit']} at ~{a['connections']:,} ({a['detail']})"
                                                 for a in nxt if a["connections"]))
    return out


def _split(c: dict) -> str:
    """The ramp's CPU: where the workers' time went, and the machine's split."""
    per = c.get("us_per_conn", {})
    m = c["machine_pct"]
    return (f"client {per.get('client')} + server {per.get('server')} + ksoftirqd {per.get('ksoftirqd')}; "
            f"client {c['client']['user_s']:.1f} s user / {c['client']['system_s']:.1f} s system; machine "
            f"user {m['user']} %, system {m['system']} %, softirq {m['softirq']} %, idle {m['idle']} %, "
            f"steal {m['steal']} %")
