"""A lab over several machines, driven from one: every other host's share is built by
that host's own netlab, reached with the system's ssh (no agent or daemon of ours).

`up`: each remote host is asked first whether it can read the file (that it is
reachable, and its netlab with it); then every host builds its share at once, this
one in this process, the others over ssh with the file on their standard input.
All or nothing: if one share fails, every share built is taken down again (a failed
share rolls itself back, as any `up` does). The record on this machine names the
other hosts, so `down`, `status`, `list` and `exec` reach them the same way.

ssh runs as ``NETLAB_SSH_COMMAND`` says (default ``ssh``), like GIT_SSH_COMMAND, with
BatchMode: a host that would ask for a password counts as unreachable.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from netlab import deploy, share as sharing, signals, state
from netlab.errors import NetlabError, NoSuchLab, UsageError
from netlab.plan import Plan
from netlab.resolve import Topology

SSH_ENV = "NETLAB_SSH_COMMAND"
CONNECT_TIMEOUT = 10  # seconds ssh waits for a host before it counts as unreachable
UP_TIMEOUT = 600  # a share of thousands of nodes takes minutes


@dataclass(frozen=True)
class Remote:
    """A host of the lab that netlab reaches over ssh."""

    name: str
    ssh: str
    netlab: str = "netlab"

    def argv(self, *args: str) -> list[str]:
        ssh = shlex.split(os.environ.get(SSH_ENV, "ssh"))
        # the remote command is one string its shell splits: each word quoted
        return [*ssh, "-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT}", self.ssh, "--",
                shlex.join([self.netlab, *args])]

    def run(self, *args: str, text: str | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
        try:
            return subprocess.run(self.argv(*args), input=text, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(args, 255, "", f"no answer in {timeout:.0f} s")

    def why(self, result: subprocess.CompletedProcess) -> str:
        """What went wrong on the host: netlab's own error (its --json answer), else ssh's last words."""
        try:
            said = [json.loads(result.stdout)["error"]]
        except (ValueError, LookupError, TypeError):
            said = [line for line in (result.stderr or result.stdout).strip().splitlines() if line.strip()]
        return f"host {self.name} ({self.ssh}): {said[-1] if said else f'exited {result.returncode}'}"

    def to_json(self) -> dict:
        return {"ssh": self.ssh, "netlab": self.netlab}


class HostFailed(NetlabError):
    """A host of a spread lab could not be reached, or its share could not be built."""


def remotes(topo: Topology) -> tuple[str | None, list[Remote]]:
    """(the host this machine is, or None; the hosts reached over ssh) for a spread lab."""
    spread = sharing.spread(topo)
    local = [h for h in spread if topo.hosts[h].ssh is None]
    if len(local) > 1:
        raise UsageError(f"hosts {', '.join(local)} of lab {topo.name} have no `ssh:`: netlab can drive one "
                         "host only, the one it runs on. Give the others `ssh:`, or run `netlab up FILE --host "
                         "NAME` on each host")
    far = [Remote(h, topo.hosts[h].ssh, topo.hosts[h].netlab) for h in spread if topo.hosts[h].ssh is not None]
    return (local[0] if local else None), far


def up(topo: Topology, text: str, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Build every host's share of ``topo`` (the file's ``text`` is what the others read);
    all or nothing. Returns each host's step count."""
    here, far = remotes(topo)
    _each(far, lambda r: r.run("validate", "-", text=text), "cannot take part")  # nothing built yet
    extra = {"host": here, "hosts": {r.name: r.to_json() for r in far}, "placement": topo.placement}
    mine = sharing.share(topo, here) if here else None
    if state.exists(topo.name):  # refused here before any host builds
        raise NetlabError(f"lab {topo.name!r} is already up; `netlab down {topo.name}` first")
    built: dict[str, int] = {}
    failures: list[str] = []
    stopped: BaseException | None = None  # Ctrl-C or SIGTERM while building: every host is rolled back, then it acts
    with ThreadPoolExecutor(max_workers=max(1, len(far))) as pool:
        futures = {r.name: pool.submit(r.run, "up", "-", "--host", r.name, "--json", text=text, timeout=UP_TIMEOUT)
                   for r in far}
        try:
            if mine is not None:
                built[here] = len(deploy.up(mine, progress, extra).steps)
            else:  # this machine holds no node: a record of its own names the hosts that do
                state.write(Plan(topo.name, topo.source, ()), "up", extra)
                built["(this machine)"] = 0
        except Exception as exc:
            failures.append(f"host {here}: {exc}")
        except BaseException as exc:
            stopped = exc
            failures.append(f"interrupted ({type(exc).__name__})")
        finally:  # every host's answer, even when interrupted: each is rolled back below if need be
            answers = {}
            for name, f in futures.items():
                while name not in answers:
                    try:
                        answers[name] = f.result()
                    except BaseException as exc:  # a signal while waiting: keep waiting, then roll back
                        stopped = stopped or exc
                        failures.append(f"interrupted ({type(exc).__name__})")
    for r in far:
        if answers[r.name].returncode == 0:
            built[r.name] = json.loads(answers[r.name].stdout)["steps"]
        else:
            failures.append(r.why(answers[r.name]))
    if failures:
        with signals.deferred():  # a second Ctrl-C waits until every host is rolled back
            undone = [f"host {r.name}: {p}" for r in far if r.name in built for p in _down_far(r, topo.name)]
            if here in built or "(this machine)" in built:
                undone += deploy.down(topo.name)
        if stopped is not None:
            raise stopped
        raise HostFailed(f"lab {topo.name} was not built (every host's share is taken down again): "
                         + "; ".join(failures) + "".join(f"; while undoing: {p}" for p in undone))
    return built


def far_hosts(lab: str) -> list[Remote]:
    """The hosts the record of ``lab`` on this machine names as the others of its lab."""
    try:
        extra = state.read(lab).extra
    except (NoSuchLab, state.BrokenRecord):
        return []
    return [Remote(name, h["ssh"], h.get("netlab", "netlab")) for name, h in extra.get("hosts", {}).items()]


def host_of(lab: str, node: str) -> Remote | None:
    """The remote host ``node`` of ``lab`` is on (None: this machine, or not a spread lab)."""
    try:
        placement = state.read(lab).extra.get("placement", {})
    except (NoSuchLab, state.BrokenRecord):
        return None
    return next((r for r in far_hosts(lab) if r.name == placement.get(node)), None)


def down(lab: str) -> list[str]:
    """Take down the other hosts' shares of ``lab`` (in parallel); the problems met."""
    far = far_hosts(lab)
    with ThreadPoolExecutor(max_workers=max(1, len(far))) as pool:
        found = list(pool.map(lambda r: [f"host {r.name}: {p}" for p in _down_far(r, lab)], far))
    return [p for ps in found for p in ps]


def _down_far(r: Remote, lab: str) -> list[str]:
    result = r.run("down", lab, "--json", timeout=UP_TIMEOUT)
    try:
        return json.loads(result.stdout)["problems"]
    except (ValueError, LookupError, TypeError):
        return [] if "no lab named" in result.stderr else [r.why(result)]


def statuses(lab: str) -> dict[str, dict]:
    """Each other host's status view of ``lab`` (an error view for one that does not answer)."""
    far = far_hosts(lab)
    with ThreadPoolExecutor(max_workers=max(1, len(far))) as pool:
        answers = list(pool.map(lambda r: r.run("status", lab, "--json"), far))
    out = {}
    for r, result in zip(far, answers):
        try:
            out[r.name] = json.loads(result.stdout)
        except ValueError:
            out[r.name] = {"lab": lab, "error": r.why(result)}
    return out


def listed(lab: str) -> dict[str, str]:
    """Each other host's status of ``lab`` as its `netlab list` has it ("absent", "unreachable: ...")."""
    far = far_hosts(lab)
    with ThreadPoolExecutor(max_workers=max(1, len(far))) as pool:
        answers = list(pool.map(lambda r: r.run("list", "--json", timeout=30), far))
    out = {}
    for r, result in zip(far, answers):
        try:
            labs = {i["name"]: i["status"] for i in json.loads(result.stdout)}
            out[r.name] = labs.get(lab, "absent")
        except (ValueError, LookupError, TypeError):
            out[r.name] = f"unreachable: {r.why(result)}"
    return out


def _each(far: list[Remote], call: Callable[[Remote], subprocess.CompletedProcess], what: str) -> None:
    """``call`` on every host at once; HostFailed naming each that failed."""
    with ThreadPoolExecutor(max_workers=max(1, len(far))) as pool:
        answers = list(pool.map(call, far))
    failed = [r.why(a) for r, a in zip(far, answers) if a.returncode != 0]
    if failed:
        raise HostFailed(f"{'a host' if len(failed) == 1 else 'hosts'} of the lab {what}, nothing was built: "
                         + "; ".join(failed))
