"""One direction of flow: every import in netlab/, at module level or inside a function
(or under TYPE_CHECKING), read with ``ast``. No cycle, however lazy, and no import from a
layer to one above it (docs/architecture.md draws the layers)."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "netlab"

# Bottom to top; a module is in the layer of the longest prefix naming it. A module may
# import its own layer and those below, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("base", ("netlab.errors", "netlab.names", "netlab.step", "netlab.signals", "netlab.ui", "netlab.limits",
              "netlab.source", "netlab.cbuild")),
    ("model", ("netlab.values", "netlab.ipv4", "netlab.model", "netlab.problems")),
    ("backend", ("netlab.backend",)),
    ("kinds", ("netlab.kinds",)),
    ("description", ("netlab.yamlread", "netlab._yamlc", "netlab.trunks", "netlab.addressing", "netlab.hosts", "netlab.resolve",
                     "netlab.share", "netlab.loader",
                     "netlab.schema")),
    ("plan", ("netlab.ops", "netlab.plan", "netlab.preflight", "netlab.executor", "netlab.state")),
    ("lab", ("netlab.node", "netlab.deploy", "netlab.status", "netlab.live", "netlab.remote")),
    ("api", ("netlab", "netlab.builder", "netlab.lifecycle")),
    ("uses", ("netlab.labs", "netlab.traffic", "netlab.bench", "netlab.content", "netlab.generate", "netlab.graph")),
    ("cli", ("netlab.cli", "netlab.cli_bench", "netlab.cli_live", "netlab.__main__", "netlab.labs.cli",
             "netlab.traffic.cli", "netlab.bench.conns.cli", "netlab.bench.paths.cli", "netlab.bench.deploy_cmd",
             "netlab.generate.cli", "netlab.graph.cli")),
]


def modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    # the C extensions (pyproject.toml's ext-modules), which import nothing of netlab
    for ext in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"].get("ext-modules", []):
        out[ext["name"]] = ROOT / ext["sources"][0]
    return out


def _target(name: str, known: dict[str, Path]) -> str | None:
    """The module of netlab an imported name belongs to (the longest prefix that is one)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Every module of netlab that ``module`` imports, anywhere in its file."""
    found: set[str] = set()
    if path.suffix != ".py":
        return found
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            names = [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found |= {t for n in names if (t := _target(n, known)) and t != module}
    return found


def graph() -> dict[str, set[str]]:
    known = modules()
    return {m: imports(m, p, known) for m, p in known.items()}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = []
            while True:
                w = stack.pop()
                on.discard(w)
                part.append(w)
                if w == v:
                    break
            if len(part) > 1:
                out.append(sorted(part))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def layer(module: str) -> int | None:
    best, found = -1, None
    for level, (_, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            # "netlab" is the package's own face only, not everything under it
            below = prefix != "netlab" and module.startswith(prefix + ".")
            if (module == prefix or below) and len(prefix) > best:
                best, found = len(prefix), level
    return found


def test_the_walk_sees_lazy_and_relative_imports(tmp_path):
    pkg = tmp_path / "netlab"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from netlab import b\n")
    (pkg / "b.py").write_text("from .sub import c\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "c.py").write_text("import netlab.a\n")
    known = {"netlab": pkg / "__init__.py", "netlab.a": pkg / "a.py", "netlab.b": pkg / "b.py",
             "netlab.sub": pkg / "sub/__init__.py", "netlab.sub.c": pkg / "sub/c.py"}
    edges = {m: imports(m, p, known) for m, p in known.items()}
    assert edges["netlab.a"] == {"netlab.b"} and edges["netlab.b"] == {"netlab.sub.c"}
    assert cycles(edges) == [["netlab.a", "netlab.b", "netlab.sub.c"]]


def test_no_import_cycle_in_netlab():
    found = cycles(graph())
    edges = graph()
    said = ["; ".join(f"{a} -> {b}" for a in c for b in sorted(edges[a]) if b in c) for c in found]
    assert not found, "import cycles (function-level imports included):\n" + "\n".join(said)


def test_every_module_has_a_layer():
    lost = sorted(m for m in modules() if layer(m) is None)
    assert not lost, f"give these modules a layer in LAYERS (and docs/architecture.md): {lost}"


def test_layers_only_look_down():
    upward = [f"{a} ({LAYERS[layer(a)][0]}) -> {b} ({LAYERS[layer(b)][0]})"
              for a, targets in sorted(graph().items()) for b in sorted(targets)
              if layer(a) is not None and layer(b) is not None and layer(b) > layer(a)]
    assert not upward, "imports that look up:\n" + "\n".join(upward)


def test_the_backend_imports_only_the_base_and_the_model():
    allowed = ("netlab.backend", "netlab.errors", "netlab.names", "netlab.model")
    bad = [f"{a} -> {b}" for a, targets in graph().items() if a.startswith("netlab.backend")
           for b in targets if not any(b == p or b.startswith(p + ".") for p in allowed)]
    assert not bad, bad


def test_labs_is_only_the_book_lab_framework():
    users = [f"{a} -> {b}" for a, targets in graph().items() for b in targets
             if b.startswith("netlab.labs") and not (a.startswith("netlab.labs") or layer(a) == len(LAYERS) - 1)]
    assert not users, f"netlab.labs is the book-lab framework, not a library: {users}"


def test_reading_a_topology_loads_no_backend(tmp_path):
    """`netlab validate` (and `up` refusing a bad file) loads neither the kernel nor the
    docker backend, pyroute2, nor Rich's tables: they were ~0.3 s of every run. Each
    command imports them when it runs."""
    topo = tmp_path / "t.yaml"
    topo.write_text("name: t\nnodes: {a: {}, b: {}}\nlinks: [[a, b]]\n")
    script = ("import sys\nfrom netlab import cli\nsys.argv = ['netlab', 'validate', sys.argv[1]]\n"
              "try:\n    cli.app()\nexcept SystemExit:\n    pass\n"
              "print(' '.join(sorted(m for m in sys.modules if m.split('.')[0] in ('netlab', 'pyroute2', 'rich'))))")
    done = subprocess.run([sys.executable, "-c", script, str(topo)], capture_output=True, text=True, check=True,
                          cwd=ROOT)
    loaded = set(done.stdout.split())
    assert "netlab.loader" in loaded, done.stdout + done.stderr  # it did read the file
    heavy = {"pyroute2", "netlab.backend.kernel", "netlab.backend.docker", "netlab.deploy", "netlab.executor",
             "netlab.labs.runner", "netlab.bench.deploy", "netlab.bench.paths.runner", "rich.table"}
    assert not loaded & heavy, sorted(loaded & heavy)
    from netlab import cli, cli_bench  # the plug-in commands' modules: imported when one of them runs

    plugins = set(cli.PLUGINS.values()) | set(cli_bench.PLUGINS.values())
    assert not loaded & plugins, sorted(loaded & plugins)


def test_every_plugin_command_registers_from_its_module():
    from typer.testing import CliRunner

    from netlab import cli, cli_bench

    commands = [[name] for name in cli.PLUGINS] + [["bench", name] for name in cli_bench.PLUGINS]
    for words in commands:
        done = CliRunner().invoke(cli.app, [*words, "--help"])
        assert done.exit_code == 0 and "Usage" in done.output, (words, done.output)
    listed = CliRunner().invoke(cli.app, ["--help"]).output
    assert all(name in listed for name in cli.PLUGINS)
