"""Ch. 8.5: a great many concurrent connections, both schemes, through `netlab bench conns`."""

from __future__ import annotations

from netlab.errors import NetlabError

NEEDS = "needs netlab bench conns (netlab.bench.conns.run_conns)"


def run(lab) -> None:
    try:
        from netlab.bench.conns import run_conns
    except ImportError:
        lab.skip(NEEDS)
    target = int(lab.params["target"])
    for scheme in ("ips", "ports"):
        lab.step(f"bench conns: {target:,} connections, scheme {scheme}")
        try:
            r = run_conns(target=target, scheme=scheme, lab=lab.lab, progress=False)
        except NetlabError as exc:  # a limit of this machine (memory, file descriptors) rules it out
            lab.skip(f"scheme {scheme}: {exc}")
        lab.figure(f"{scheme}_established", r["established"], "connections")
        lab.figure(f"{scheme}_client_ips", r["client_ips"], "addresses")
        lab.figure(f"{scheme}_server_ports", r["server_ports"], "ports")
        lab.figure(f"{scheme}_setup_s", r["setup_s"], "s")
        lab.figure(f"{scheme}_rate_cps", r["rate_cps"], "connections/s")
        lab.figure(f"{scheme}_kernel_bytes_per_socket", r["kernel_bytes_per_socket"], "bytes",
                   "slab growth per socket (machine-wide)")
        lab.figure(f"{scheme}_cpu_us_per_conn", r["cpu_us_per_conn"], "µs",
                   "CPU per connection: workers and ksoftirqd, exact (schedstat)")
        split = r["ramp_cpu"]["machine_pct"]
        lab.figure(f"{scheme}_softirq_pct", split["softirq"], "%", "the machine's CPU in softirq during the ramp")
