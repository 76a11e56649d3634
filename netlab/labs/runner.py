"""Run a lab: bring its topology up under a unique name, run its procedure,
check the figures against the book, and always take the topology down, also
on an error, Ctrl-C or SIGTERM (netlab's lifecycle and signal policy)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import secrets
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from netlab import builder, lifecycle, signals
from netlab.errors import FeatureMissing, NetlabError
from netlab.labs import checks as checking
from netlab.labs.checks import CheckResult, Figure
from netlab.labs.context import LabContext, LabSkipped, Series
from netlab.labs.spec import LabSpec
from netlab.resolve import Topology

RUN_PREFIX = "lb"


@dataclass
class LabResult:
    """What one run of a lab found: its verdict, checks, figures and charts."""

    name: str
    chapter: tuple[str, ...]
    question: str
    run_name: str
    short: bool
    verdict: str = checking.SKIP
    checks: list[CheckResult] = field(default_factory=list)
    figures: dict[str, Figure] = field(default_factory=dict)
    series: list[Series] = field(default_factory=list)
    seconds: float = 0.0
    reason: str = ""  # why the lab was skipped, or the error that failed it

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "chapter": list(self.chapter), "question": self.question,
                "run_name": self.run_name, "short": self.short, "verdict": self.verdict,
                "seconds": round(self.seconds, 2), "reason": self.reason,
                "checks": [c.to_json() for c in self.checks],
                "figures": {k: {"value": f.value, "unit": f.unit, "note": f.note} for k, f in self.figures.items()}}


def run_name(lab: str) -> str:
    """A unique lab name for one run: ``lb-<lab>-<6 hex>``, at most 32 characters."""
    return f"{RUN_PREFIX}-{lab[:21].rstrip('-')}-{secrets.token_hex(3)}"


def topology(spec: LabSpec, name: str) -> Topology | None:
    """The lab's topology under the run's unique name (None: the procedure builds its own)."""
    if spec.topology_path is None:
        return None
    return builder.load(spec.topology_path, name=name).validate()


def procedure(spec: LabSpec) -> Callable[[LabContext], None]:
    """The ``run(lab)`` function of the lab's procedure.py."""
    module_name = "netlab_lab_" + spec.name.replace("-", "_")
    loaded = importlib.util.spec_from_file_location(module_name, spec.procedure_path)
    module = importlib.util.module_from_spec(loaded)
    sys.modules[module_name] = module  # dataclasses (and pickling) look a class's module up there
    loaded.loader.exec_module(module)
    if not callable(getattr(module, "run", None)):
        raise NetlabError(f"{spec.procedure_path}: defines no run(lab) function")
    return module.run


def _missing_features(spec: LabSpec) -> str:
    if not spec.requires:
        return ""
    from netlab.backend import features

    missing = features.missing(list(spec.requires))
    return "; ".join(f"this kernel lacks {f} ({why})" for f, why in missing.items())


def run(spec: LabSpec, short: bool = False, on_step: Callable[[str], None] = lambda t: None) -> LabResult:
    """Run one lab; its topology is down again when this returns or raises."""
    result = LabResult(spec.name, spec.chapter, spec.question, run_name(spec.name), short)
    params = spec.params_for(short)
    t0 = time.monotonic()
    lacking = _missing_features(spec)
    if lacking:
        result.reason = lacking
        result.checks = checking.skip_all(spec.checks, lacking)
        return result
    fn = procedure(spec)
    topo = topology(spec, result.run_name)
    ctx = LabContext(spec, result.run_name, topo, short, params, on_step)
    error = ""
    with signals.interruptible():
        try:
            with contextlib.ExitStack() as stack:
                if topo is not None:
                    on_step(f"up {result.run_name}")
                    stack.enter_context(lifecycle.up(topo))
                    stack.callback(on_step, f"down {result.run_name}")
                stack.callback(ctx.close)  # the procedure's processes end before the lab goes down
                fn(ctx)
        except (LabSkipped, FeatureMissing) as exc:
            result.reason = str(exc)
        except Exception as exc:  # the lab fails with the error; the machine is still cleaned
            error = f"{type(exc).__name__}: {exc}"
            if os.environ.get("NETLAB_DEBUG"):
                error += "\n" + traceback.format_exc()
    result.seconds = time.monotonic() - t0
    result.figures, result.series = ctx.figures, ctx.series
    return _judge(spec, result, ctx, params, error)


def _judge(spec: LabSpec, result: LabResult, ctx: LabContext, params: dict, error: str) -> LabResult:
    if result.reason and not error:
        result.checks = checking.skip_all(spec.checks, result.reason)
        result.verdict = checking.SKIP
        return result
    result.checks = [checking.evaluate(c, ctx.figures, params, ctx.skipped) for c in spec.checks]
    if error:
        result.reason = error
        result.verdict = checking.FAIL
    else:
        result.verdict = checking.overall(result.checks)
    return result
