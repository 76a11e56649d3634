"""One run of the benchmark: build the lab, ramp, hold, tear down, and report the figures.

Phases (issue 4): ramp (connect, with a memory guard), hold (count checked in
each namespace's /proc/net/sockstat), teardown (every socket closed, every
worker gone, the lab's namespaces removed). Ctrl-C, SIGTERM or SIGHUP at any
point lands in the same teardown (netlab's lifecycle and signal policy).
"""

from __future__ import annotations

import contextlib
import errno as errnos
import os
import statistics
import time

from netlab import lifecycle, names, signals
from netlab.backend import netns
from netlab.bench.conns import cpu, display, leftovers, limits as machine, memory, plan as planning, report, topology
from netlab.bench.conns.plan import EST_BYTES_PER_CONN, GiB, LimitError, Options, Plan
from netlab.bench.conns.pool import Workers
from netlab.bench.conns.series import Meter
from netlab.bench.conns.topology import CLIENT, SERVER
from netlab.bench.conns.workers import CLOSED, DONE, FATAL
from netlab.bench.settle import wait_steady
from netlab.errors import NetlabError

TICK = 0.1          # seconds between two looks at the counters
STALL_S = 15.0      # no new connection for this long ends the run with an error




def _conntrack_count(ns: str) -> int | None:
    with netns.entered(ns):
        value = machine.read_sysctl("net.netfilter.nf_conntrack_count")
    return int(value) if value is not None else None


class Run:
    """The phases of one run of ``plan``; ``execute`` returns the JSON-ready figures."""

    def __init__(self, plan: Plan, limits: machine.Limits, opts: Options):
        self.plan, self.limits, self.opts = plan, limits, opts
        self.workers: Workers | None = None
        self.conntrack_checked = False

    def execute(self) -> dict:
        """Build, run the phases, tear down — also on an error, Ctrl-C, SIGTERM or SIGHUP:
        the workers first, then the run's lab, then the parent (only what this run made)."""
        labs = (self.plan.lab, topology.parent_lab(self.plan.lab))
        removed = leftovers.clear(labs)  # what a run killed with SIGKILL left under these names
        if removed:
            _slab_settled()
        with signals.interruptible(), contextlib.ExitStack() as stack:
            self._build(stack)
            self.workers = Workers(self.plan)
            stack.callback(self._stop_workers)
            self.workers.start()
            result = self._phases()
            result["leftovers_removed"] = removed
            result["worker_fds_at_start"] = self.workers.fds_at_start
            return result

    def _stop_workers(self) -> None:
        with signals.deferred():
            display.phase(f"tearing down lab {self.plan.lab}", self.opts.progress)
            self.workers.stop()

    def _build(self, stack: contextlib.ExitStack) -> None:
        """The parent namespace first; the client and server namespaces created from inside it."""
        stack.enter_context(lifecycle.up(topology.build_parent(self.plan)))
        with netns.entered(names.netns(topology.parent_lab(self.plan.lab), topology.PARENT)):
            stack.enter_context(lifecycle.up(topology.build(self.plan)))

    def _cpu(self) -> cpu.Reading:
        w = self.workers
        return cpu.read({CLIENT: w.pids_of(CLIENT), SERVER: w.pids_of(SERVER)}, self.softirqd)

    def _phases(self) -> dict:
        w = self.workers
        self.softirqd = cpu.softirq_threads()
        # a lab taken down just before (a test, a bench round) is still being freed by the
        # kernel: its slab would shrink under this run's baseline
        wait_steady()
        before = memory.snapshot(w.pids)
        ramp = self._ramp(before)
        established = min(w.count(w.servers()), w.count(w.clients()))
        ramp["cpu"] = cpu.phase(ramp.pop("cpu0"), ramp.pop("cpu1"), established)
        after = memory.snapshot(w.pids)
        cost = memory.cost(before, after, established, 2 * established)
        if self.opts.hold:
            display.phase(f"holding {established:,} connections for {self.opts.hold:g} s", self.opts.progress)
        c0 = self._cpu()
        held = self._hold(established)
        held["cpu"] = cpu.phase(c0, c1 := self._cpu())
        display.phase(f"closing {established:,} connections", self.opts.progress)
        t0 = time.monotonic()
        closed = self._close(before, after)
        closed["cpu"] = cpu.phase(c1, self._cpu(), established)
        result = self._report(ramp, established, before, cost, held)
        result["teardown"] = closed
        result["teardown"]["close_s"] = round(time.monotonic() - t0, 3)
        return result

    # -- ramp -----------------------------------------------------------------
    def _ramp(self, before: memory.Snapshot) -> dict:
        w, plan = self.workers, self.plan
        cpu0 = self._cpu()
        meter = Meter(time.monotonic(), TICK, lambda: sum(cpu.run_ns(p) for p in w.pids), self.limits.cpus)
        stopped_by = reached = None
        w.send(w.clients(), "go")
        with display.ramp_bar(plan.target, self.opts.progress) as update:
            while True:
                time.sleep(TICK)
                now, n, mem = time.monotonic(), w.count(w.servers()), machine.meminfo()
                growth, available = mem.get("Slab", 0) - before.meminfo_slab, memory.available(mem, before.meminfo)
                rate = meter.tick(now, n, growth, available, final=n >= plan.target)
                update(n, rate, growth, available)
                if n >= plan.target:
                    reached = now
                    break
                self._check_workers(n, now - meter.last_progress)
                stopped_by = self._guard(n, rate, growth, before.pss, available)
                if stopped_by:
                    break
        cpu1 = self._cpu()  # the ramp's CPU: up to the last connection, not the settling after it
        end = self._settle(reached)
        return {"t0": meter.t0, "end": end, "reached": reached is not None, "stopped_by": stopped_by,
                "series": meter.series, "cpu0": cpu0, "cpu1": cpu1}

    def _settle(self, reached: float | None) -> float:
        """Stop the clients; let the servers accept what the clients saw established."""
        w = self.workers
        end = reached or time.monotonic()
        w.stop_flag[0] = 1
        w.wait_state(w.clients(), DONE, 30, "stop connecting")
        deadline = time.monotonic() + 5
        while w.count(w.servers()) < w.count(w.clients()) and time.monotonic() < deadline:
            time.sleep(TICK)
        return end

    def _check_workers(self, n: int, idle: float) -> None:
        w = self.workers
        if w.dead():
            raise NetlabError(f"worker {w.dead()[0]} died during the ramp, at {n:,} connections")
        errors = w.errors()
        fatal = [e for e in errors if e in FATAL]
        if fatal:
            e = fatal[0]
            raise LimitError(f"{FATAL[e]}: {errnos.errorcode.get(e, e)} ({os.strerror(e)}) at {n:,} connections; "
                             + _lift(e, self.plan))
        if not self.conntrack_checked and n >= min(1000, self.plan.target):
            tracking = any(_conntrack_count(names.netns(self.plan.lab, node)) for node in (CLIENT, SERVER))
            planning.check_conntrack(self.plan.target, self.limits.conntrack_max, tracking)
            self.conntrack_checked = True
        if idle > STALL_S:
            last = ", ".join(f"{errnos.errorcode.get(e, e)} ×{k}" for e, k in errors.items()) or "none"
            raise NetlabError(f"the ramp stalled at {n:,} connections for {idle:.0f} s "
                              f"({w.failed():,} failed connects; last errors: {last})")

    def _guard(self, n: int, rate: float, growth: int, pss: int, available: int) -> str | None:
        plan = self.plan
        # stop one tick early: the next tick's connections must not take MemAvailable under the floor
        upcoming = max(rate, 0.0) * TICK * 2 * EST_BYTES_PER_CONN
        if available - upcoming < plan.memory_floor:
            return (f"memory guard: MemAvailable less the pinned dentries and inodes, {available / GiB:.2f} GiB, "
                    f"is about to fall below the floor of "
                    f"{plan.memory_floor / GiB:.2f} GiB; the ramp stopped at {n:,} connections")
        if plan.memory_budget and growth + pss + upcoming >= plan.memory_budget:
            return (f"memory budget: slab growth + workers' PSS reached {(growth + pss) / GiB:.2f} GiB of "
                    f"{plan.memory_budget / GiB:.2f} GiB at {n:,} connections")
        return None

    def _report(self, ramp: dict, established: int, before: memory.Snapshot, cost: memory.Cost,
                held: dict) -> dict:
        return report.figures(self.plan, self.limits, ramp, established, before, cost, held)

    # -- hold and teardown ----------------------------------------------------
    def _sockstat(self) -> dict[str, dict]:
        w = self.workers
        return {node: memory.sockstat_of(w.pid_of(node)) for node in (CLIENT, SERVER)}

    def _hold(self, established: int) -> dict:
        """Keep every connection for ``hold`` seconds, checking the kernel's own count each second."""
        checks, end = [], time.monotonic() + self.opts.hold
        while True:
            stat = self._sockstat()
            checks.append({node: stat[node]["TCP"]["inuse"] for node in stat})
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(1.0, left))
        listeners = self.plan.server_workers
        ok = all(c[CLIENT] >= established and c[SERVER] - listeners >= established for c in checks)
        conntrack = {node: _conntrack_count(names.netns(self.plan.lab, node)) for node in (CLIENT, SERVER)}
        with netns.entered(names.netns(self.plan.lab, CLIENT)):
            ehash = int(machine.read_sysctl("net.ipv4.tcp_ehash_entries") or 0)
        return {"hold_s": self.opts.hold, "checks": len(checks), "verified": ok, "sockstat": stat,
                "conntrack": {**conntrack, "max": self.limits.conntrack_max},
                "ehash_entries": ehash}

    def _close(self, before: memory.Snapshot, held: memory.Snapshot) -> dict:
        """Close every socket (clients first, as book §7.4.4 does), then count TIME_WAIT left behind."""
        w = self.workers
        w.send(w.clients(), "close")
        w.wait_state(w.clients(), CLOSED, 300, "close their sockets")
        w.send(w.servers(), "close")
        w.wait_state(w.servers(), CLOSED, 300, "close their sockets")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # FINs in flight: wait until only TIME_WAIT is left
            stat = self._sockstat()
            if stat[CLIENT]["TCP"]["inuse"] == 0 and stat[SERVER]["TCP"]["inuse"] == 0:
                break
            time.sleep(TICK)
        snap = memory.snapshot()
        tw = {node: stat[node]["TCP"]["tw"] for node in stat}
        with netns.entered(names.netns(self.plan.lab, CLIENT)):
            buckets = machine.read_sysctl("net.ipv4.tcp_max_tw_buckets")
        tw_cache = snap.slab.get("tw_sock_TCP", 0) - held.slab.get("tw_sock_TCP", 0)
        total_tw = sum(tw.values())
        return {"time_wait": tw, "tcp_max_tw_buckets": int(buckets or 0),
                "slab_growth_after_close": snap.meminfo_slab - before.meminfo_slab,
                "bytes_per_time_wait": round(tw_cache / total_tw) if total_tw else None,
                "sockstat_after_close": stat}


def _lift(err: int, plan: Plan) -> str:
    """What setting lifts the limit behind ``err``."""
    if err == errnos.EADDRNOTAVAIL:
        lo, hi = plan.port_range
        return (f"connect() found no free local port: {len(plan.client_ips)} client IP(s) × "
                f"{len(plan.server_ports)} server port(s) × net.ipv4.ip_local_port_range ({lo} {hi}); "
                f"use more --client-ips or a wider --port-range")
    if err == errnos.EMFILE:
        return "RLIMIT_NOFILE per worker (`ulimit -Hn`, needs CAP_SYS_RESOURCE to raise); use more --workers"
    if err == errnos.ENFILE:
        return "fs.file-max is global: raise it in the root namespace"
    return "kernel memory is short: lower --target or free memory"


def run(opts: Options) -> dict:
    """Plan from the machine's limits, then build, ramp, hold and tear down; the figures of the run."""
    limits = machine.read()
    plan = planning.derive(opts, limits)
    return Run(plan, limits, opts).execute()


def _slab_settled(timeout: float = 60.0) -> None:
    """Wait until the slab stops shrinking: a deleted namespace is cleaned up by a kernel worker
    after `down` returns, and a round measured meanwhile would count its frees as its own."""
    deadline = time.monotonic() + timeout
    last = machine.meminfo().get("Slab", 0)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = machine.meminfo().get("Slab", 0)
        if last - now < 16 * 1024 * 1024:
            return
        last = now


def run_rounds(opts: Options, rounds: int = 1) -> dict:
    """``rounds`` runs, each in a lab built afresh once the last one's memory is back; the round
    with the median setup time, with all rounds."""
    results = []
    for i in range(rounds):
        if i:
            _slab_settled()
        results.append(run(opts))
    if rounds == 1:
        return results[0]
    ranked = sorted(results, key=lambda r: r["setup_s"])
    median = dict(ranked[len(ranked) // 2])
    median["rounds"] = [{k: r[k] for k in ("established", "setup_s", "rate_cps", "kernel_bytes_per_conn",
                                           "kernel_bytes_per_socket", "user_bytes_per_conn")} for r in results]
    median["setup_s_median"] = statistics.median(r["setup_s"] for r in results)
    return median
