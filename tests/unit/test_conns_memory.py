"""bench conns: reading slabinfo, sockstat and meminfo, and the per-connection arithmetic."""

from __future__ import annotations

import pytest

from netlab import loader
from netlab.bench.conns import cpu, limits, memory, plan as planning, topology
from netlab.bench.paths.counters import CPU_FIELDS
from netlab.bench.conns.plan import Options

SLABINFO = """slabinfo - version: 2.1
# name            <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>
TCP                 2600   2600   2368   13    8 : tunables    0    0    0 : slabdata    200    200      0
filp                 798    798    192   21    1 : tunables    0    0    0 : slabdata     38     38      0
eventpoll_epi        421    576    128   32    1 : tunables    0    0    0 : slabdata     18     18      0
"""

SOCKSTAT = """sockets: used 40012
TCP: inuse 40003 orphan 0 tw 12 alloc 80010 mem 1
UDP: inuse 0 mem 0
"""


def test_slabinfo_counts_whole_slabs():
    caches = memory.slabinfo(SLABINFO, page_size=4096)
    assert caches == {"TCP": 200 * 8 * 4096, "filp": 38 * 4096, "eventpoll_epi": 18 * 4096}


def test_sockstat_fields():
    stat = memory.sockstat(SOCKSTAT)
    assert stat["TCP"] == {"inuse": 40003, "orphan": 0, "tw": 12, "alloc": 80010, "mem": 1}
    assert stat["sockets"]["used"] == 40012


def test_meminfo_in_bytes():
    mem = limits.meminfo("MemTotal:       24000000 kB\nSlab:             1000 kB\nHugePages_Total:       0\n")
    assert mem == {"MemTotal": 24000000 * 1024, "Slab": 1024000, "HugePages_Total": 0}


def test_guard_does_not_count_the_sockets_pinned_dentries_and_inodes_as_available():
    before = {"MemAvailable": 20 << 30, "SReclaimable": 1 << 30}
    # a million sockets later: 3 GiB more "reclaimable" slab that no reclaim can free
    now = {"MemAvailable": 12 << 30, "SReclaimable": 4 << 30}
    assert memory.available(now, before) == 9 << 30
    assert memory.available({"MemAvailable": 5, "SReclaimable": 0}, {"SReclaimable": 7}) == 5  # shrank: no credit


def test_cost_per_connection_and_per_socket():
    before = memory.Snapshot(slab={"TCP": 1000, "dentry": 500, "proc_inode_cache": 0},
                             meminfo={"Slab": 10_000})
    after = memory.Snapshot(slab={"TCP": 41000, "dentry": 8500, "proc_inode_cache": 2000, "filp": 4000},
                            meminfo={"Slab": 10_000 + 54_000}, pss=7000)
    cost = memory.cost(before, after, conns=10, sockets=20)
    assert cost.slab_delta == 54_000 and cost.meminfo_slab_delta == 54_000 and cost.agreement_pct == 0
    assert cost.kernel_bytes_per_conn == 5400 and cost.kernel_bytes_per_socket == 2700
    own, others = cost.split()
    assert own == 52_000 and others == {"proc_inode_cache": 2000}
    top = cost.caches(top=2)
    assert list(top) == ["TCP", "dentry"] and top["TCP"]["bytes_per_conn"] == 4000


def test_a_merged_cache_counts_as_the_connection_s_through_its_aliases():
    aliases = {"eventpoll_epi": ["tcp_bind2_bucket", "tcp_bind_bucket"], "pte_list_desc": ["x"]}
    assert memory.of_connection("eventpoll_epi", aliases)
    assert memory.of_connection("kmalloc-cg-192") and not memory.of_connection("proc_inode_cache")
    assert not memory.of_connection("pte_list_desc", aliases)


def test_merged_caches_of_this_kernel_are_symmetric():
    groups = memory.merged_caches()
    for name, others in list(groups.items())[:50]:
        for other in others:
            assert name in groups[other]


def test_generated_topology_puts_every_client_ip_on_one_veth_and_sysctls_in_the_lab():
    p = planning.derive(Options(target=100_000, lab="bc-unit"), limits.read())
    text = topology.text(p)
    topo = loader.load_text(text, "<test>")
    assert set(topo.nodes) == {"client", "server"}
    client = [i for i in topo.interfaces("client") if i.name == "eth0"][0]
    assert [str(a.ip) for a in client.addresses] == list(p.client_ips)
    assert topo.nodes["client"].sysctls["net.ipv4.ip_local_port_range"] == "1024 65535"
    assert topo.nodes["server"].sysctls["net.core.somaxconn"] == 65535
    assert not any(bad in text for bad in ("10.", "172.16", "192.168"))


def test_both_namespaces_get_the_lean_sysctls_and_an_override_wins():
    p = planning.derive(Options(target=10_000, lab="bc-unit", sysctls=(
        ("net.ipv4.tcp_congestion_control", "cubic"), ("net.ipv6.conf.default.disable_ipv6", ""))),
        limits.read())
    topo = loader.load_text(topology.text(p), "<test>")
    for node in ("client", "server"):
        got = {k: str(v) for k, v in topo.nodes[node].sysctls.items()}
        assert got["net.ipv4.tcp_congestion_control"] == "cubic"
        assert got["net.ipv6.conf.all.disable_ipv6"] == "1"
        assert "net.ipv6.conf.default.disable_ipv6" not in got  # dropped: the kernel's default
    assert p.to_json()["sysctls"]["net.ipv4.tcp_congestion_control"] == "cubic"
    with pytest.raises(planning.LimitError, match="only per-namespace net"):
        planning.lab_sysctls((("kernel.pid_max", "1"),))


def test_shipped_topology_file_loads():
    topo = loader.load("topologies/conns.yaml")
    assert len([i for i in topo.interfaces("client") if i.name == "eth0"][0].addresses) >= 2


def test_parent_namespace_sizes_an_own_established_hash_for_the_run():
    p = planning.derive(Options(target=1_000_000, lab="bc-unit"), limits.read())
    assert topology.ehash_entries(p) == 1 << 20  # one bucket per socket, a power of two
    small = planning.derive(Options(target=1000, lab="bc-unit"), limits.read())
    assert topology.ehash_entries(small) == 1 << 16
    topo = loader.load_text(topology.parent_text(p), "<test>")
    assert topo.name == topology.parent_lab("bc-unit") == "bc-unit-p"
    assert topo.nodes["parent"].sysctls == {"net.ipv4.tcp_child_ehash_entries": 1 << 20}
    assert topology.parent_lab("x" * 32) == "x" * 30 + "-p"


def test_machine_cpu_shares_from_proc_stat():
    before = cpu.machine("cpu  100 0 200 700 0 0 0 0 0 0\n")
    after = cpu.machine("cpu  150 0 300 700 0 0 50 0 0 0\n")
    shares = cpu.shares(before, after)
    assert shares["system"] == 50.0 and shares["softirq"] == 25.0 and shares["idle"] == 0.0
    assert set(cpu.machine()) == set(CPU_FIELDS)
