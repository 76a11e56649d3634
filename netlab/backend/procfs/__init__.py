"""Every counter netlab reads from /proc, in one place: each file's parser (parse.py:
it takes the file's text, so tests need no kernel) and its reader, by what it counts:

- per network namespace (namespace.py: SNMP/netstat as nstat names them, sockstat,
  interface counters, per-namespace sysctls), read from inside the namespace;
- per process (process.py: /proc/PID/... CPU time, context switches, threads, PSS, the
  sockstat and TCP listeners of the namespace the process is in);
- machine-wide (machine.py: softirqs in all and per CPU, softnet_stat, interrupts,
  slabinfo, stat, meminfo, CPU pressure).

Callers use the names below (``procfs.nstat(ns)``). Stdlib only: the benchmarks' engine
processes import it at start-up.
"""

from netlab.backend.procfs.machine import (  # noqa: F401
    arp_entries, cpu_model, cpu_pressure, cpu_times, interrupts, machine_cpu, meminfo, namespaces_alive, slab_bytes, slabinfo,
    softirqs, softirqs_per_cpu, softnet)
from netlab.backend.procfs.namespace import (  # noqa: F401
    netdev, nstat, sockstat, sysctl_get, sysctl_path, sysctl_read, sysctl_set)
from netlab.backend.procfs.parse import (  # noqa: F401
    CPU_FIELDS, Irq, Slab, Softnet, delta, parse_interrupts, parse_meminfo, parse_netdev, parse_slab_bytes,
    parse_slabinfo, parse_snmp, parse_sockstat, parse_softirqs, parse_softirqs_per_cpu, parse_softnet, parse_ss_states,
    parse_stat)
from netlab.backend.procfs.process import (  # noqa: F401
    CAP_SYS_ADMIN, CAP_SYS_RESOURCE, capabilities, cpu_seconds, ksoftirqd_ns, listening, named, process_cpu, pss, run_ns,
    sockstat_of, start_ticks, threads, ticks)
