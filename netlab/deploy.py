"""Bring labs up and down: the one entry point the CLI, labs and benches use."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from netlab import executor, kinds, names, ops, plan as planning, preflight, state
from netlab.backend import features, inspect, netns, reclaim
from netlab.backend.composite import CompositeBackend
from netlab.backend.kernel import KernelBackend
from netlab.errors import FeatureMissing, LabExists, NetlabError, NoSuchLab
from netlab.plan import Plan
from netlab.resolve import Topology
from netlab.step import Step

Progress = Callable[[int], None]


def up(topo: Topology, progress: Progress | None = None, extra: dict | None = None) -> Plan:
    """Build ``topo`` on the kernel, all or nothing; return the plan it carried out.
    ``extra`` goes into the state record beside the nodes' kinds."""
    the_plan = planning.build(topo)
    _preflight(the_plan)
    preflight.check(topo)  # what only this kernel can tell, before any change
    _kind_preflight(topo)
    # The whole plan is recorded before the first change: `down` can undo any prefix of it.
    record = {"kinds": {n: s.kind for n, s in topo.nodes.items()}, **(extra or {})}
    state.write(the_plan, "building", record)
    backend = lab_backend()
    try:
        executor.apply(the_plan.steps, backend, progress)
    except BaseException:
        state.remove(topo.name)
        raise
    finally:
        backend.close()
    state.write(the_plan, "up", record)
    return the_plan


def lab_backend() -> CompositeBackend:
    """The backend a lab's ops go through: the kernel's, and the backends node kinds declare."""
    return CompositeBackend(KernelBackend(), kinds.backend_routes())


def _kind_preflight(topo: Topology) -> None:
    """Each kind's own checks before any change (a docker node's image is on the machine)."""
    for node, spec in topo.nodes.items():
        kinds.kind(spec.kind).preflight(topo.name, node, spec)


def _preflight(the_plan: Plan) -> None:
    if state.exists(the_plan.lab):
        raise LabExists(f"lab {the_plan.lab!r} is already up; `netlab down {the_plan.lab}` first")
    taken = [ns for ns in the_plan.namespaces() if netns.exists(ns)]
    if taken:
        raise LabExists(f"namespace {taken[0]} already exists; `netlab down --all` removes netlab's leftovers")
    if os.geteuid() != 0:
        raise NetlabError("building a lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run with sudo")
    _vnis_free(the_plan)
    check_features(the_plan.steps)


def _vnis_free(the_plan: Plan) -> None:
    """Refuse a tunnel whose VNI and UDP port another lab's tunnel on this host already has
    (the kernel would refuse it part-way: one VNI per port on a host)."""
    wanted = {(s.args["vni"], s.args["port"]): s for s in the_plan.steps if s.op == "link.vxlan"}
    if not wanted:
        return
    for lab in state.labs():
        try:
            steps = state.read(lab).steps
        except (NoSuchLab, state.BrokenRecord):
            continue
        for s in steps:
            if s.op == "link.vxlan" and (s.args["vni"], s.args["port"]) in wanted:
                raise LabExists(f"VNI {s.args['vni']} on UDP port {s.args['port']} is already a tunnel of lab {lab} on "
                                f"this host ({ops.describe(wanted[s.args['vni'], s.args['port']])}): the VNI comes "
                                "from the lab's name and the link, so another lab name gives another")


def check_features(steps: Iterable[Step]) -> None:
    """Refuse, before any change, steps that need what this kernel lacks (FeatureMissing)."""
    wanted: dict[str, str] = {}
    for step in steps:
        feature = ops.NEEDS.get(step.op)
        if feature and feature not in wanted:
            wanted[feature] = ops.describe(step)
    lacking = features.missing(list(wanted))
    if lacking:
        lines = [f"{f} ({why}), needed by: {wanted[f]}" for f, why in lacking.items()]
        hint = " (link `loss` works without netem: it is an nftables numgen rule)" if "qdisc:netem" in lacking else ""
        raise FeatureMissing("this kernel lacks " + "; ".join(lines) + hint + ". `netlab features` lists what it has.")


def down(lab: str, progress: Progress | None = None) -> list[str]:
    """Remove what ``up`` made for ``lab``, from its state record; return problems met.

    Without a whole record (lost, never written, or half-written by a killed ``up``), the
    lab's namespaces that carry netlab's mark or that the half-written record lists are
    removed, and the record's files with them."""
    try:
        record = state.read(lab)
    except (NoSuchLab, state.BrokenRecord):
        return _down_without_record(lab)
    backend = lab_backend()
    try:
        problems = executor.undo(record.steps, backend, progress)
    finally:
        backend.close()
    problems += _sweep_namespaces(lab, set(record.plan.namespaces()))
    state.remove(lab)
    return problems


def _down_without_record(lab: str) -> list[str]:
    half = state.half_written(lab)
    had_namespaces = bool(_orphans(lab))
    problems = _sweep(lab, state.listed_namespaces(lab))  # marked links and labelled containers go too
    state.remove(lab)
    if not had_namespaces and not half:
        state.read(lab)  # raises NoSuchLab, naming `netlab list`
    return problems


def kernel_target(lab: str) -> reclaim.Baseline | None:
    """What the kernel should come back to once ``lab`` is down (None: it cannot be seen)."""
    return reclaim.baseline(len(_orphans(lab)))


def wait_freed(target: reclaim.Baseline | None, timeout: float, progress: Progress | None = None) -> int | None:
    """Wait (up to ``timeout`` s) until the kernel has freed a lab's namespaces after
    ``down`` (it does so in the background); how many it is still freeing (0: done)."""
    return reclaim.wait_freed(target, timeout, progress)


def undo_count(lab: str) -> int:
    """How many undo batches ``down`` will run (for a progress bar; 0 without a whole record)."""
    try:
        return sum(1 for s in state.read(lab).steps if s.undo)
    except (NoSuchLab, state.BrokenRecord):
        return 0


def _orphans(lab: str | None) -> list[str]:
    """Namespaces named for ``lab`` (for any lab if None)."""
    return [ns for ns in netns.listing()
            if (owner := names.parse_netns(ns)) and (lab is None or owner[0] == lab)]


def _sweep(lab: str | None, listed: set[str] = frozenset()) -> list[str]:
    """What a lost record cannot list: namespaces named for ``lab`` (every lab if None)
    whose lo carries netlab's mark (or that ``listed``, from a half-written record, names),
    root-namespace links carrying the lab's mark, and each kind's own objects (containers
    labelled with the lab)."""
    problems = _sweep_namespaces(lab, listed) + _sweep_root_links(lab)
    for kind in kinds.KINDS.values():
        problems += kind.sweep(lab)
    return problems


def _sweep_namespaces(lab: str | None, listed: set[str] = frozenset()) -> list[str]:
    """Delete the namespaces named for ``lab`` that are netlab's: marked, or listed in a
    record of netlab's. Any other is left alone, and said so."""
    problems = []
    for ns in _orphans(lab):
        if ns in listed or _marked(ns):
            netns.delete(ns)
        else:
            problems.append(f"{ns} is named like a netlab namespace, but carries no mark of netlab's and no "
                            "record of netlab's lists it: left alone (`ip netns delete` it if it is yours to remove)")
    return problems


def _sweep_root_links(lab: str | None) -> list[str]:
    """Links in the root namespace whose alias marks them as a lab's with no record
    (made for a `kind: host` node, then the record was lost)."""
    live = set(state.labs())
    try:
        doomed = [name for name, alias in inspect.links(None)
                  if (owner := names.parse_mark(alias)) and owner[0] not in live and (lab is None or owner[0] == lab)]
        if doomed:
            backend = lab_backend()
            try:
                backend.run("link.delete", [{"ns": None, "name": name} for name in doomed])
            finally:
                backend.close()
    except (OSError, NetlabError) as exc:
        return [f"sweeping root-namespace links: {exc}"]
    return []


def _marked(ns: str) -> bool:
    """True if the namespace's lo carries netlab's mark for the lab its name gives. An
    empty, unmarked namespace is not taken for netlab's: anyone may make one (``ip netns
    add nl.x.h1``); netlab's own, cut short before the mark, is in its record."""
    owner = names.parse_netns(ns)
    try:
        links = inspect.links(ns)
    except OSError:
        return False
    mark = names.parse_mark(next((a for name, a in links if name == "lo"), None))
    return mark is not None and owner is not None and mark[0] == owner[0]


@dataclass(frozen=True)
class LabInfo:
    name: str
    status: str
    source: str
    nodes: int


def listing() -> list[LabInfo]:
    """Labs with a state record (a half-written one too), plus namespaces named for a lab without one."""
    out = []
    for lab in state.records():
        try:
            rec = state.read(lab)
            out.append(LabInfo(lab, rec.status, rec.source, len(rec.extra.get("kinds", {}))))
        except (NoSuchLab, state.BrokenRecord):
            files = ", ".join(os.path.basename(f) for f in state.half_written(lab))
            out.append(LabInfo(lab, "half-written record", files, len(state.listed_namespaces(lab))))
    known = {i.name for i in out}
    orphans: dict[str, int] = {}
    for ns in netns.listing():
        owner = names.parse_netns(ns)
        if owner and owner[0] not in known:
            orphans[owner[0]] = orphans.get(owner[0], 0) + 1
    out += [LabInfo(lab, "orphaned", "", n) for lab, n in sorted(orphans.items())]
    return out


def down_all(progress: Progress | None = None) -> tuple[list[str], list[str]]:
    """Take down every lab (half-written records and orphans too); then remove leftovers
    that carry netlab's mark. Returns (labs, problems)."""
    problems: list[str] = []
    done = []
    for info in listing():
        try:
            problems += down(info.name)
        except NoSuchLab:  # gone between the listing and now (another `down` took it)
            continue
        done.append(info.name)
        if progress:
            progress(1)
    problems += _sweep(None)
    return done, list(dict.fromkeys(problems))  # a namespace left alone is said once
