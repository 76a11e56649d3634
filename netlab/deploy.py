"""Bring labs up and down: the one entry point the CLI, labs and benches use."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from netlab import executor, kinds, names, plan as planning, preflight, state
from netlab.backend import features, netns, reclaim
from netlab.backend.composite import lab_backend
from netlab.backend.kernel import KernelBackend
from netlab.errors import FeatureMissing, LabExists, NetlabError
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

    Without a record (lost, or never written), marked namespaces of the lab are still removed."""
    if not state.exists(lab):
        had_namespaces = bool(_orphans(lab))
        problems = _sweep(lab)  # marked links and labelled containers go even then
        state.remove(lab)  # a half-written record, if `up` was killed while writing it
        if not had_namespaces:
            state.read(lab)  # raises NoSuchLab, naming `netlab list`
        return problems
    record = state.read(lab)
    backend = lab_backend()
    try:
        problems = executor.undo(record.steps, backend, progress)
    finally:
        backend.close()
    problems += _sweep_namespaces(lab)
    state.remove(lab)
    return problems


def kernel_target(lab: str) -> reclaim.Baseline | None:
    """What the kernel should come back to once ``lab`` is down (None: it cannot be seen)."""
    return reclaim.baseline(len(_orphans(lab)))


def wait_freed(target: reclaim.Baseline | None, timeout: float, progress: Progress | None = None) -> int | None:
    """Wait (up to ``timeout`` s) until the kernel has freed a lab's namespaces after
    ``down`` (it does so in the background); how many it is still freeing (0: done)."""
    return reclaim.wait_freed(target, timeout, progress)


def undo_count(lab: str) -> int:
    """How many undo batches ``down`` will run (for a progress bar)."""
    return sum(1 for s in state.read(lab).steps if s.undo)


def _orphans(lab: str | None) -> list[str]:
    """Namespaces named for ``lab`` (for any lab if None)."""
    return [ns for ns in netns.listing()
            if (owner := names.parse_netns(ns)) and (lab is None or owner[0] == lab)]


def _sweep(lab: str | None) -> list[str]:
    """What a lost record cannot list: namespaces named for ``lab`` (every lab if None)
    whose lo carries netlab's mark, root-namespace links carrying the lab's mark, and
    each kind's own objects (containers labelled with the lab)."""
    problems = _sweep_namespaces(lab) + _sweep_root_links(lab)
    for kind in kinds.KINDS.values():
        sweep = getattr(kind, "sweep_all", None)
        if sweep:
            problems += sweep(lab)
    return problems


def _sweep_namespaces(lab: str | None) -> list[str]:
    problems = []
    for ns in _orphans(lab):
        if _marked(ns):
            netns.delete(ns)
        else:
            problems.append(f"{ns} is named like a netlab namespace but carries no mark: left alone")
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
    """True if the namespace is netlab's: its lo carries the mark, or it is empty
    (a namespace whose creation was cut short before the mark was set)."""
    backend = KernelBackend()
    try:
        links = backend.ipr(ns).get_links()
        lo = [link for link in links if link.get_attr("IFLA_IFNAME") == "lo"]
        alias = lo[0].get_attr("IFLA_IFALIAS") if lo else None
        return names.parse_mark(alias) is not None or len(links) == 1 and not alias
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
    """Labs with a state record, plus namespaces carrying the mark without one."""
    out = []
    for lab in state.labs():
        try:
            rec = state.read(lab)
        except (NetlabError, ValueError):
            continue
        out.append(LabInfo(lab, rec.status, rec.source, len(rec.extra.get("kinds", {}))))
    known = {i.name for i in out}
    orphans: dict[str, int] = {}
    for ns in netns.listing():
        owner = names.parse_netns(ns)
        if owner and owner[0] not in known:
            orphans[owner[0]] = orphans.get(owner[0], 0) + 1
    out += [LabInfo(lab, "orphaned", "", n) for lab, n in sorted(orphans.items())]
    return out


def down_all(progress: Progress | None = None) -> tuple[list[str], list[str]]:
    """Take down every lab; then remove leftovers that carry netlab's mark. Returns (labs, problems)."""
    problems: list[str] = []
    done = []
    for info in listing():
        if info.status == "orphaned":
            problems += _sweep(info.name)
        else:
            problems += down(info.name)
        done.append(info.name)
        if progress:
            progress(1)
    problems += _sweep(None)
    return done, problems
