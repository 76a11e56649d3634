"""bench conns: the plan derived from the limits, and the limit messages (no root needed)."""

from __future__ import annotations

import dataclasses
import math

import pytest

from netlab.bench.conns import limits, parse_size, parse_target, plan as planning
from netlab.bench.conns.plan import GiB, LimitError, Options

MACHINE = limits.Limits(
    nofile_soft=1024, nofile_hard=20000, nr_open=1048576, file_max=2466177, files_open=2000,
    cap_sys_admin=True, cap_sys_resource=False, pid_max=32768, nproc=96365, conntrack_max=262144,
    mem_total=24 * GiB, mem_available=22 * GiB, port_range_host=(32768, 60999), somaxconn_host=4096,
    syn_backlog_host=2048, page_size=4096)


def derive(**kw) -> planning.Plan:
    machine = kw.pop("machine", MACHINE)
    return planning.derive(Options(**kw), machine)


@pytest.mark.parametrize("scheme", ["ips", "ports"])
def test_a_million_fits_the_descriptor_limit_on_both_sides(scheme):
    p = derive(target=1_000_000, scheme=scheme)
    cap = MACHINE.nofile_hard - planning.RESERVED_FDS
    assert sum(p.quotas) == 1_000_000 and len(p.quotas) == p.client_workers
    assert max(p.quotas) <= cap
    assert p.client_workers == math.ceil(1_000_000 / cap)
    assert 1_000_000 / p.server_workers <= cap
    assert p.client_workers + p.server_workers < 200


def test_ips_scheme_spreads_over_client_ips_one_server_port():
    p = derive(target=1_000_000, scheme="ips")
    assert p.server_ports == (planning.SERVER_PORT,) and p.source_ports == "bench"
    # the bench chooses every source port: each IP's whole range serves, connect() searches nothing
    assert len(p.client_ips) == math.ceil(1_000_000 / p.ports_per_ip) == 16
    assert len(set(p.client_ips)) == len(p.client_ips)
    assert all(ip.startswith("198.18.") for ip in p.client_ips)


def test_kernel_chosen_ports_fill_only_the_cheap_quarter_of_each_range():
    p = derive(target=1_000_000, scheme="ips", source_ports="kernel")
    assert 1_000_000 / len(p.client_ips) <= p.ports_per_ip * planning.PORT_FILL
    with pytest.raises(LimitError, match="--source-ports 'nope'"):
        derive(target=1000, source_ports="nope")


def test_one_client_ramps_per_cpu():
    assert derive(target=1_000_000).active_clients == MACHINE.cpus
    assert derive(target=1_000_000, machine=dataclasses.replace(MACHINE, cpus=8)).active_clients == 8
    assert derive(target=1000, active_clients=4).active_clients == 1  # never more than there are clients


def test_ports_scheme_is_one_client_ip_and_one_port_per_server_worker():
    p = derive(target=1_000_000, scheme="ports")
    assert len(p.client_ips) == 1
    assert len(p.server_ports) == p.server_workers == len(set(p.server_ports))
    assert 1_000_000 / len(p.server_ports) <= p.ports_per_ip


def test_the_suite_run_uses_several_workers_and_ips():
    p = derive(target=70_000)
    assert p.client_workers >= 3 and p.server_workers >= 3 and len(p.client_ips) >= 2


def test_port_range_comes_from_the_options_not_the_host():
    p = derive(target=1000, port_range=(20000, 29999))
    assert p.port_range == (20000, 29999) and p.ports_per_ip == 10000


def test_too_few_workers_names_rlimit_nofile_and_the_fix():
    with pytest.raises(LimitError) as err:
        derive(target=100_000, workers=2)
    msg = str(err.value)
    assert "RLIMIT_NOFILE" in msg and "20,000" in msg and "--workers 6" in msg and "CAP_SYS_RESOURCE" in msg


def test_too_few_local_ports_names_ip_local_port_range():
    with pytest.raises(LimitError) as err:
        derive(target=5000, client_ips=1, port_range=(40000, 40999))
    msg = str(err.value)
    assert "net.ipv4.ip_local_port_range (40000 40999)" in msg and "--client-ips" in msg


def test_ports_scheme_with_too_few_server_ports():
    with pytest.raises(LimitError, match="local ports: 1 client IP.*1 server port"):
        derive(target=5000, scheme="ports", workers=1, port_range=(40000, 40999))


def test_backlog_shorter_than_the_window_names_somaxconn():
    with pytest.raises(LimitError) as err:
        derive(target=100_000, somaxconn=64)
    msg = str(err.value)
    assert "net.core.somaxconn = 64" in msg and "--somaxconn" in msg and "--window to 192" in msg


def test_conntrack_table_smaller_than_the_target():
    planning.check_conntrack(1_000_000, 262144, tracking=False)  # no tracking in the lab: no limit
    with pytest.raises(LimitError, match="nf_conntrack_max = 262,144.*global"):
        planning.check_conntrack(1_000_000, 262144, tracking=True)


def test_memory_short_of_the_target():
    small = dataclasses.replace(MACHINE, mem_available=4 * GiB)
    with pytest.raises(LimitError, match="memory: .*MemAvailable is 4.0 GiB"):
        derive(target=1_000_000, machine=small)


def test_file_max_binds_only_without_cap_sys_admin():
    tight = dataclasses.replace(MACHINE, file_max=100_000)
    derive(target=60_000, machine=tight)  # root with CAP_SYS_ADMIN is not held by fs.file-max
    with pytest.raises(LimitError, match="fs.file-max = 100,000"):
        derive(target=60_000, machine=dataclasses.replace(tight, cap_sys_admin=False))


def test_max_target_is_sized_from_the_budget():
    p = derive(target=None, memory_budget=1 * GiB)
    assert p.ceiling and p.memory_budget == GiB
    assert GiB / planning.EST_BYTES_PER_CONN < p.target < 2 * GiB / planning.EST_BYTES_PER_CONN


def test_memory_floor_defaults_to_a_tenth_of_ram_at_least_two_gib():
    assert planning.memory_floor(MACHINE, None) == pytest.approx(2.4 * GiB, rel=0.01)
    assert planning.memory_floor(dataclasses.replace(MACHINE, mem_total=8 * GiB), None) == 2 * GiB
    assert planning.memory_floor(MACHINE, 123) == 123


def test_unknown_scheme_and_bad_port_range():
    with pytest.raises(LimitError, match="scheme 'ip' is not one of: ips, ports"):
        derive(scheme="ip")
    with pytest.raises(LimitError, match="not a port range"):
        derive(port_range=(70000, 80000))


@pytest.mark.parametrize("text, value", [("16GiB", 16 * GiB), ("512M", 512 << 20), ("1.5g", int(1.5 * GiB)),
                                         ("4096", 4096), ("2 GB", 2 * GiB)])
def test_parse_size(text, value):
    assert parse_size(text) == value


def test_parse_size_and_target_reject_nonsense():
    with pytest.raises(ValueError, match="not a size"):
        parse_size("lots")
    assert parse_target("max") is None and parse_target("1,000,000") == 1_000_000
    with pytest.raises(ValueError):
        parse_target("0")


def test_limits_are_read_from_this_machine():
    found = limits.read()
    assert found.nofile_hard >= found.nofile_soft > 0
    assert found.mem_total >= found.mem_available > 0
    assert found.port_range_host[0] <= found.port_range_host[1]


def test_limits_met_during_a_ramp_name_their_setting():
    import errno

    from netlab.bench.conns import runner

    p = derive(target=40_000)
    assert "net.ipv4.ip_local_port_range (1024 65535)" in runner._lift(errno.EADDRNOTAVAIL, p)
    assert "RLIMIT_NOFILE" in runner._lift(errno.EMFILE, p)
    assert "fs.file-max" in runner._lift(errno.ENFILE, p)
