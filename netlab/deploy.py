"""Bring labs up and down: the one entry point the CLI, labs and benches use."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from netlab import executor, kinds, names, plan as planning, preflight, state
from netlab.backend import features, netns, reclaim
from netlab.backend.composite import lab_backend
from netlab.backend.kernel import KernelBackend
from netlab.errors import FeatureMissing, LabExists, NetlabError, NoSuchLab
from netlab.plan import Plan
from netlab.resolve import Topology

Progress = Callable[[int], None]


def up(topo: Topology, progress: Progress | None = None) -> Plan:
    """Build ``topo`` on the kernel, all or nothing; return the plan it carried out."""
    the_plan = planning.build(topo)
    _preflight(the_plan)
    preflight.check(topo)  # what only this kernel can tell, before any change
    _kind_preflight(topo)
    # The whole plan is recorded before the first change: `down` can undo any prefix of it.
    kinds_of = {n: s.kind for n, s in topo.nodes.items()}
    state.write(the_plan, "building", {"kinds": kinds_of})
    backend = lab_backend()
    try:
        executor.apply(the_plan.steps, backend, progress)
    except BaseException:
        state.remove(topo.name)
        raise
    finally:
        backend.close()
    state.write(the_plan, "up", {"kinds": kinds_of})
    return the_plan


def _kind_preflight(topo: Topology) -> None:
    """Each kind's own checks before any change (a docker node's image is on the machine)."""
    for node, spec in topo.nodes.items():
        check = getattr(kinds.kind(spec.kind), "preflight", None)
        if check:
            check(topo.name, node, spec)


def _preflight(the_plan: Plan) -> None:
    if state.exists(the_plan.lab):
        raise LabExists(f"lab {the_plan.lab!r} is already up; `netlab down {the_plan.lab}` first")
    taken = [ns for ns in the_plan.namespaces() if netns.exists(ns)]
    if taken:
        raise LabExists(f"namespace {taken[0]} already exists; `netlab down --all` removes netlab's leftovers")
    if os.geteuid() != 0:
        raise NetlabError("building a lab needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN): run with sudo")
    _check_features(the_plan)


def _check_features(the_plan: Plan) -> None:
    """Refuse, before any change, a lab that needs what this kernel lacks."""
    wanted: dict[str, str] = {}
    for step in the_plan.steps:
        feature = planning.NEEDS.get(step.op)
        if feature and feature not in wanted:
            wanted[feature] = planning.describe(step)
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
        sweep = getattr(kind, "sweep_all", None)
        if sweep:
            problems += sweep(lab)
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
    backend = KernelBackend()
    try:
        for link in backend.ipr(None).get_links():
            owner = names.parse_mark(link.get_attr("IFLA_IFALIAS"))
            if owner and owner[0] not in live and (lab is None or owner[0] == lab):
                backend.link_delete(None, link.get_attr("IFLA_IFNAME"))
    except OSError as exc:
        return [f"sweeping root-namespace links: {exc}"]
    finally:
        backend.close()
    return []


def _marked(ns: str) -> bool:
    """True if the namespace's lo carries netlab's mark for the lab its name gives. An
    empty, unmarked namespace is not taken for netlab's: anyone may make one (``ip netns
    add nl.x.h1``); netlab's own, cut short before the mark, is in its record."""
    owner = names.parse_netns(ns)
    backend = KernelBackend()
    try:
        lo = [link for link in backend.ipr(ns).get_links() if link.get_attr("IFLA_IFNAME") == "lo"]
        mark = names.parse_mark(lo[0].get_attr("IFLA_IFALIAS")) if lo else None
        return mark is not None and owner is not None and mark[0] == owner[0]
    except OSError:
        return False
    finally:
        backend.close()


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
