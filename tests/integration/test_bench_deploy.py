"""`netlab bench deploy` on small sizes: figures for every size, the ip -batch floor
of the same star in the same run, and nothing left behind (netlab's or the floor's)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from netlab.backend import netns
from netlab.bench import deploy_floor
from netlab.cli import app

pytestmark = pytest.mark.root


def test_bench_deploy_prints_figures_per_size_with_the_floor_as_json(lab_name):
    result = CliRunner().invoke(app, ["bench", "deploy", "--nodes", "20,40", "--rounds", "2", "--no-compare",
                                      "--lab", lab_name, "--json"])
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    small, big = body["sizes"]
    assert (small["hosts"], small["nodes"], big["hosts"]) == (20, 21, 40)
    for size in body["sizes"]:
        assert len(size["rounds"]) == 2 and len(size["floor"]["rounds"]) == 2
        assert 0 < size["up_s"]["min"] <= size["up_s"]["median"] <= size["up_s"]["max"]
        assert size["up_vs_floor"] == round(size["up_s"]["median"] / size["floor"]["up_s"]["median"], 2)
        assert size["left"] == [] and size["still_freeing"] == 0
        assert set(size["kib_per_node"]) == {"slab", "slab_unreclaimable", "memory"}
    assert set(body["per_node_vs_smallest"]) == {"20", "40"}
    assert not [ns for ns in netns.listing() if ns.startswith("nlf-")]
    assert body["targets"][-1]["met"] is True and "mininet" not in body


def test_the_floor_builds_the_trunked_star_netlab_builds():
    root, inside = deploy_floor._batches("x", 2100)
    assert root.count("netns add") == 2101 and root.count("type veth peer") == 2100
    assert inside.count("type bridge") == 5 and inside.count(" master br0 up") == 500  # 496 hosts + 4 trunks
    assert inside.count(" master br4 up") == 2100 - 496 - 3 * 499 + 1  # the rest, and its trunk


def test_a_tree_comes_up_and_down(lab_name):
    result = CliRunner().invoke(app, ["bench", "deploy", "--nodes", "40", "--shape", "tree", "--rounds", "1",
                                      "--lab", lab_name, "--json"])
    assert result.exit_code == 0, result.output
    (size,) = json.loads(result.stdout)["sizes"]
    assert size["nodes"] == 40 + 3 and "floor" not in size  # root s1 and two leaves, 32 and 8 hosts


def test_the_wait_after_down_sees_the_kernel_free_every_namespace(lab_name):
    # The kernel frees the last batch a cleanup_net run tore down only when the next run
    # starts: without the throwaway namespace the wait would stop at the timeout with
    # the whole lab still counted (more than reclaim.STRAYS, so no shortcut either).
    from netlab import deploy
    from netlab.backend import procfs, reclaim
    from netlab.bench.deploy import topology

    hosts = 2 * reclaim.STRAYS
    deploy.up(topology(hosts, lab=lab_name))
    target = deploy.kernel_target(lab_name)
    deploy.down(lab_name)
    assert deploy.wait_freed(target, 60) == 0
    # the lab's namespaces are off the count (others' come and go on this machine)
    others = max(0, len(netns.listing()) - target.named)
    assert procfs.namespaces_alive() - target.alive - others < hosts // 2
