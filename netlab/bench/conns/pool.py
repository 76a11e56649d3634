"""The parent's side of the workers: start them, command them, read their counters, end them.

Workers are forked (so they share the parent's pages and cost little
memory) with their jobs cut from the plan; commands go down a pipe per
worker, counts come back through one shared array. ``stop`` ends every
worker, politely first and with SIGKILL after a timeout: none outlives a run.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections.abc import Iterable

from netlab.bench.conns import workers
from netlab.bench.conns.plan import RESERVED_FDS, Plan
from netlab.bench.conns.topology import CLIENT, SERVER
from netlab.bench.conns.workers import COUNT, ERRNO, FAILED, STATE, STRIDE, Job
from netlab.errors import NetlabError


def jobs(plan: Plan) -> tuple[list[Job], list[Job]]:
    """The server and client jobs of ``plan``: one listening port per server worker in scheme
    ports, one port shared through SO_REUSEPORT in scheme ips."""
    servers = []
    for i in range(plan.server_workers):
        ports = (plan.server_ports[i],) if plan.scheme == "ports" else plan.server_ports
        servers.append(Job(lab=plan.lab, node=SERVER, role="server", index=i,
                           targets=tuple((plan.server_ip, p) for p in ports), backlog=plan.somaxconn,
                           reuseport=plan.scheme == "ips", nap=plan.accept_nap))
    clients, first = [], 0
    targets = tuple((plan.server_ip, p) for p in plan.server_ports)
    total = plan.server_workers + plan.client_workers
    for i, quota in enumerate(plan.quotas):
        clients.append(Job(lab=plan.lab, node=CLIENT, role="client", index=plan.server_workers + i,
                           sources=plan.client_ips, targets=targets, first=first, quota=quota, window=plan.window,
                           source_ports=plan.source_ports, port_range=plan.port_range,
                           servers=plan.server_workers, workers=total))
        first += quota
    return servers, clients


class Workers:
    """Every worker process of one run."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self._ctx = multiprocessing.get_context("fork")
        self.server_jobs, self.client_jobs = jobs(plan)
        n = len(self.server_jobs) + len(self.client_jobs)
        self.shared = self._ctx.RawArray("q", n * STRIDE)
        self.stop_flag = self._ctx.RawArray("q", 1)
        self.turn = self._ctx.Semaphore(plan.active_clients)  # clients ramping at once
        self.procs: list[multiprocessing.process.BaseProcess] = []
        self.pipes: list = []
        self.fds_at_start = 0

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs if p.pid]

    def pids_of(self, role: str) -> list[int]:
        jobs_ = self.server_jobs if role == SERVER else self.client_jobs
        return [self.procs[j.index].pid for j in jobs_]

    def pid_of(self, role: str) -> int:
        """A live worker of ``role``: a window onto its namespace's /proc/<pid>/net."""
        jobs_ = self.server_jobs if role == SERVER else self.client_jobs
        return self.procs[jobs_[0].index].pid

    def start(self, timeout: float = 60.0) -> None:
        """Fork every worker (servers first, listening before any client connects)."""
        parent = os.getpid()
        for job in self.server_jobs + self.client_jobs:
            mine, theirs = self._ctx.Pipe()
            inherited = workers.open_fds()  # what the worker closes first: not its to hold
            if job.role == SERVER:
                target, args = workers.serve, (job, theirs, self.shared, parent, inherited)
            else:
                target, args = workers.connect, (job, theirs, self.shared, self.stop_flag, self.turn, parent,
                                                 inherited)
            proc = self._ctx.Process(target=target, args=args, name=f"conns-{job.role}-{job.index}", daemon=True)
            proc.start()
            theirs.close()
            self.procs.append(proc)
            self.pipes.append(mine)
        self.wait_state(range(len(self.procs)), workers.READY, timeout, "start")
        self.fds_at_start = self._check_fds()

    def _check_fds(self) -> int:
        """The most descriptors a worker holds before its first connection; NetlabError past the
        plan's reserve (each worker's quota is RLIMIT_NOFILE minus that reserve)."""
        most = max(len(os.listdir(f"/proc/{pid}/fd")) for pid in self.pids)
        if most > RESERVED_FDS:
            raise NetlabError(f"a worker holds {most} descriptors before its first connection, more than the "
                              f"{RESERVED_FDS} the plan reserves beside its quota: it would meet EMFILE mid-ramp")
        return most

    def send(self, indices: Iterable[int], command: str) -> None:
        for i in indices:
            with contextlib.suppress(OSError):
                self.pipes[i].send(command)

    def clients(self) -> range:
        return range(len(self.server_jobs), len(self.procs))

    def servers(self) -> range:
        return range(len(self.server_jobs))

    def field(self, indices: Iterable[int], which: int) -> list[int]:
        return [self.shared[i * STRIDE + which] for i in indices]

    def count(self, indices: Iterable[int]) -> int:
        return sum(self.field(indices, COUNT))

    def failed(self) -> int:
        return sum(self.field(self.clients(), FAILED))

    def errors(self) -> dict[int, int]:
        """errno → how many workers last met it."""
        out: dict[int, int] = {}
        for e in self.field(range(len(self.procs)), ERRNO):
            if e:
                out[e] = out.get(e, 0) + 1
        return out

    def dead(self) -> list[str]:
        return [p.name for p in self.procs if p.exitcode is not None]

    def wait_state(self, indices: Iterable[int], state: int, timeout: float, what: str) -> None:
        indices = list(indices)
        deadline = time.monotonic() + timeout
        while any(s < state for s in self.field(indices, STATE)):
            dead = [p for p in self.procs if p.exitcode is not None]
            if dead:
                raise NetlabError(f"worker {dead[0].name} died during {what} (exit code {dead[0].exitcode})")
            if time.monotonic() > deadline:
                raise NetlabError(f"workers did not {what} within {timeout:.0f} s")
            time.sleep(0.02)

    def stop(self, timeout: float = 10.0) -> list[str]:
        """End every worker: "exit", then SIGKILL to any still alive after ``timeout``; reap all."""
        self.stop_flag[0] = 1
        self.send(range(len(self.procs)), "exit")
        deadline = time.monotonic() + timeout
        killed = []
        for proc in self.procs:
            proc.join(max(0.0, deadline - time.monotonic()))
            if proc.exitcode is None:
                proc.kill()
                proc.join(5)
                killed.append(proc.name)
        for pipe in self.pipes:
            pipe.close()
        return killed
