"""Checks: the book's claim, the figure measured on this kernel, and the verdict."""

from __future__ import annotations

import math
import operator
from dataclasses import asdict, dataclass
from typing import Any

from netlab.labs.spec import CheckSpec, parse_expect

PASS, FAIL, SKIP = "pass", "fail", "skip"
_COMPARE = {"==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
            "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Figure:
    """A number (or word) the procedure measured, with its unit and how it was taken."""

    name: str
    value: Any
    unit: str = ""
    note: str = ""

    def text(self) -> str:
        return f"{format_value(self.value)} {self.unit}".strip()


@dataclass(frozen=True)
class CheckResult:
    id: str
    claim: str
    figure: str
    measured: Any
    unit: str
    expected: str
    verdict: str
    note: str = ""

    def to_json(self) -> dict:
        return asdict(self)

    def measured_text(self) -> str:
        return "-" if self.measured is None else f"{format_value(self.measured)} {self.unit}".strip()


def format_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class _Unresolved(Exception):
    pass


def _operand(text: str, figures: dict[str, Figure], params: dict[str, Any]) -> float:
    kind, _, name = text.partition(".")
    if kind == "param":
        if name not in params:
            raise _Unresolved(f"parameter {name} is not set")
        return float(params[name])
    if kind == "figure":
        if name not in figures:
            raise _Unresolved(f"figure {name} was not measured")
        return float(figures[name].value)
    return float(text)


def _holds(op: str, operands: tuple[str, ...], value: float, figures: dict, params: dict) -> tuple[bool, str]:
    """(holds, the expectation with its operands filled in)."""
    if op in _COMPARE:
        ref = _operand(operands[0], figures, params)
        return _COMPARE[op](value, ref), f"{op} {format_value(ref)}"
    if op == "within":
        tol_text, ref_text = operands
        ref = _operand(ref_text, figures, params)
        tol = abs(ref) * float(tol_text[:-1]) / 100 if tol_text.endswith("%") else float(tol_text)
        return abs(value - ref) <= tol, f"{format_value(ref)} ± {format_value(tol)}"
    lo, hi = (_operand(o, figures, params) for o in operands)
    return lo <= value <= hi, f"{format_value(lo)} … {format_value(hi)}"


def evaluate(check: CheckSpec, figures: dict[str, Figure], params: dict[str, Any],
             skipped: dict[str, str]) -> CheckResult:
    """The verdict of one declared check. ``skipped`` maps a check id or a figure name
    to the reason it could not be measured here (a missing kernel feature)."""
    fig = figures.get(check.figure)
    base = dict(id=check.id, claim=check.claim, figure=check.figure, expected=check.expect,
                measured=fig.value if fig else None, unit=fig.unit if fig else "")
    reason = skipped.get(check.id) or skipped.get(check.figure)
    if reason:
        return CheckResult(**base, verdict=SKIP, note=reason)
    if fig is None:
        return CheckResult(**base, verdict=FAIL, note=f"figure {check.figure} was not measured")
    op, operands = parse_expect(check.expect)
    try:
        value = float(fig.value)
        if math.isnan(value):
            raise ValueError("not a number")
        ok, filled = _holds(op, operands, value, figures, params)
    except _Unresolved as exc:
        return CheckResult(**base, verdict=FAIL, note=str(exc))
    except (TypeError, ValueError):
        return CheckResult(**base, verdict=FAIL, note=f"figure {check.figure} is not a number: {fig.value!r}")
    return CheckResult(**{**base, "expected": filled}, verdict=PASS if ok else FAIL, note=fig.note)


def skip_all(checks: tuple[CheckSpec, ...], reason: str) -> list[CheckResult]:
    return [CheckResult(c.id, c.claim, c.figure, None, "", c.expect, SKIP, reason) for c in checks]


def overall(results: list[CheckResult]) -> str:
    """pass if every check passed or was skipped (and at least one passed), skip if
    all were skipped, fail otherwise."""
    verdicts = {r.verdict for r in results}
    if FAIL in verdicts:
        return FAIL
    return PASS if PASS in verdicts else SKIP
