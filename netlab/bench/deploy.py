"""`netlab bench deploy`: how fast a big lab comes and goes, what it costs the
kernel, and how far that is from the kernel's own floor.

A star (N hosts on a LAN: one bridge, trunked bridges past 500) or a tree of
bridges goes through the normal core path (generator → loader → plan →
executor → kernel backend, held by netlab.up like any lab), so the figure is
what any lab of that size gets.
For each size, rounds of the `ip -batch` floor of the same star (deploy_floor)
and of netlab alternate, so both see the same machine. After each `down` the
bench waits for the kernel to free the namespaces (reported as ``settle_s``,
not part of the total), so a round never pays for the previous one's clean-up.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

from netlab import deploy, generate, lifecycle, loader, names
from netlab import plan as planning
from netlab.backend import netns
from netlab.bench import deploy_floor, deploy_mininet
from netlab.bench.deploy_mem import meminfo
from netlab.errors import NetlabError
from netlab.resolve import Topology

LAB = "bench-deploy"
TREE_FANOUT = 32
Phase = Callable[[str, int], Callable[[int], None]]  # (label, total) → advance; a progress bar per phase


def topology(hosts: int, shape: str = "star", lab: str = LAB, fanout: int = TREE_FANOUT) -> Topology:
    """The lab of ``hosts`` hosts: a star on one LAN, or a tree of bridges ``fanout`` wide."""
    if shape == "star":
        data = generate.star(hosts, lab)
    else:
        depth = 1
        while fanout ** depth < hosts:
            depth += 1
        data = generate.tree(depth, fanout, lab, hosts=hosts)
    return loader.load_data(data, f"<{shape} of {hosts} hosts>")


def netlab_round(topo: Topology, phase: Phase) -> dict:
    """Up, down and the kernel's clean-up of one lab; seconds and kernel memory per node."""
    lab, nodes = topo.name, len(topo.nodes)
    before = meminfo()
    steps = len(planning.build(topo).steps)
    t0 = time.perf_counter()
    with phase(f"netlab up {nodes:,} nodes", steps) as advance:
        held = lifecycle.up(topo, progress=advance)  # all or nothing: a failed up leaves nothing to take down
    t1 = time.perf_counter()
    try:
        grown = meminfo()
    finally:
        target = deploy.kernel_target(lab)
        t_down = time.perf_counter()
        with phase(f"netlab down {nodes:,} nodes", deploy.undo_count(lab)) as advance:
            held.down(advance)
    t2 = time.perf_counter()
    with phase("the kernel frees the namespaces", nodes) as advance:
        freeing = deploy.wait_freed(target, 30 + nodes / 100, advance)
    settle = time.perf_counter() - t2
    left = [ns for ns in netns.listing() if (names.parse_netns(ns) or ("",))[0] == lab]
    left += [names.state_file(lab)] if deploy.state.exists(lab) else []
    per = {k: round((grown[k] - before[k]) / nodes, 1) for k in ("Slab", "SUnreclaim", "Used") if k in grown}
    return {"nodes": nodes, "up_s": round(t1 - t0, 3), "down_s": round(t2 - t_down, 3),
            "total_s": round(t2 - t0, 3), "settle_s": round(settle, 3), "still_freeing": freeing, "left": left,
            "per_node_up_ms": round((t1 - t0) / nodes * 1000, 3),
            "kib_per_node": {"slab": per.get("Slab"), "slab_unreclaimable": per.get("SUnreclaim"),
                             "memory": per.get("Used")}}


def floor_round(hosts: int, phase: Phase) -> dict:
    """One round of the `ip -batch` floor (RuntimeError if `ip` failed), then the wait
    for the kernel to free its namespaces, as after netlab's rounds: the round after
    it would otherwise share the CPU and RTNL with that clean-up (2–40 s of it here)."""
    with phase(f"ip -batch floor, {hosts:,} hosts", 1) as advance:
        result = deploy_floor.run(hosts)
        advance(1)
    t0 = time.perf_counter()
    with phase("the kernel frees the floor's namespaces", hosts + 1) as advance:
        result["still_freeing"] = deploy.wait_freed(result.pop("baseline"), 30 + hosts / 100, advance)
    result["settle_s"] = round(time.perf_counter() - t0, 3)
    return result


def measure(hosts: int, shape: str, rounds: int, floor: bool, phase: Phase, lab: str = LAB) -> dict:
    """``rounds`` netlab rounds of one size, alternating with floor rounds (floor first
    in even rounds, netlab first in odd ones); medians and spreads of each."""
    topo = topology(hosts, shape, lab)
    runs, floors, errors = [], [], []

    def floor_once() -> None:
        try:
            floors.append(floor_round(hosts, phase))
        except (RuntimeError, OSError) as exc:  # the floor's failure is a figure missing, not the run's end
            errors.append(str(exc))

    for r in range(rounds):
        if floor and r % 2 == 0:
            floor_once()
        runs.append(netlab_round(topo, phase))
        if floor and r % 2 == 1:
            floor_once()
    out = {"hosts": hosts, "shape": shape, "nodes": runs[0]["nodes"], "rounds": runs,
           **{k: _spread([r[k] for r in runs]) for k in ("up_s", "down_s", "total_s", "settle_s", "per_node_up_ms")},
           "kib_per_node": runs[-1]["kib_per_node"], "still_freeing": runs[-1]["still_freeing"],
           "left": [x for r in runs for x in r["left"]]}
    if errors:
        out["floor_error"] = errors[0]
    if floors:
        out["floor"] = {"up_s": _spread([f["up_s"] for f in floors]), "down_s": _spread([f["down_s"] for f in floors]),
                        "settle_s": _spread([f["settle_s"] for f in floors]), "command": floors[0]["command"], "rounds": floors}
        out["up_vs_floor"] = round(out["up_s"]["median"] / out["floor"]["up_s"]["median"], 2)
        out["down_vs_floor"] = round(out["down_s"]["median"] / max(out["floor"]["down_s"]["median"], 1e-3), 2)
    return out


def _spread(values: list[float]) -> dict:
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def targets(sizes: list[dict]) -> list[dict]:
    """The issue's targets, judged on this run's figures (None: a size that was not run)."""
    by = {s["hosts"]: s for s in sizes if s["shape"] == "star"}
    k1, k10 = by.get(1000), by.get(10000)
    out = [{"target": "1,000-node star up ≤ 1.5 × the ip -batch floor of the same run",
            "met": None if not k1 or "up_vs_floor" not in k1 else k1["up_vs_floor"] <= 1.5,
            "detail": f"{k1['up_vs_floor']}×" if k1 and "up_vs_floor" in k1 else "not run"},
           {"target": "10,000 nodes up + down ≤ 30 s", "met": None if not k10 else k10["total_s"]["median"] <= 30,
            "detail": f"{k10['total_s']['median']} s" if k10 else "not run"}]
    if k1 and k10:
        ratio = round(k10["per_node_up_ms"]["median"] / k1["per_node_up_ms"]["median"], 2)
        out.append({"target": "time per node at 10,000 ≤ 1.5 × at 1,000", "met": ratio <= 1.5, "detail": f"{ratio}×"})
    else:
        out.append({"target": "time per node at 10,000 ≤ 1.5 × at 1,000", "met": None, "detail": "not run"})
    freed = [s for s in sizes if s["still_freeing"]]
    left = [x for s in sizes for x in s["left"]]
    out.append({"target": "down leaves nothing; the kernel has freed the namespaces when it returns (or says so)",
                "met": not left, "detail": (f"left behind: {', '.join(left[:5])}" if left else "nothing left; " + (
                    "the kernel freed them every time" if not freed else "; ".join(
                        f"{s['hosts']:,}: kernel still freeing {s['still_freeing']:,}" for s in freed)))})
    return out


def run(sizes: list[int], shape: str, rounds: int, floor: bool, mininet: bool, phase: Phase,
        lab: str = LAB) -> dict:
    """Every size in turn, then Mininet's star if asked (and installed). A size whose
    lab fails to build ends the series there; the sizes measured are still reported."""
    results, failed = [], None
    for n in sizes:
        try:
            results.append(measure(n, shape, rounds, floor and shape == "star", phase, lab))
        except NetlabError as exc:
            failed = {"hosts": n, "error": str(exc)}
            break
    body = {"shape": shape, "sizes": results, "targets": targets(results)}
    if failed:
        body["failed"] = failed
    if not results:
        raise NetlabError(f"bench deploy: {failed['hosts']:,} hosts: {failed['error']}")
    if len(results) > 1:
        first = results[0]["per_node_up_ms"]["median"]
        body["per_node_vs_smallest"] = {r["hosts"]: round(r["per_node_up_ms"]["median"] / first, 2) for r in results}
    if mininet and shape == "star" and sizes[0] <= 1000:
        ref = deploy_mininet.run(sizes[0])
        if ref:
            body["mininet"] = ref
            if ref["ok"]:
                body["speedup_vs_mininet"] = round(ref["total_s"] / results[0]["total_s"]["median"], 1)
    return body
