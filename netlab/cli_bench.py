"""`netlab bench ...`: the benchmarks, name → the module whose register(bench_app)
adds it (imported when the benchmark runs or --help lists it: netlab.cli)."""

from __future__ import annotations

PLUGINS = {"deploy": "netlab.bench.deploy_cmd", "paths": "netlab.bench.paths.cli", "conns": "netlab.bench.conns.cli",
           "validate": "netlab.bench.validate"}
