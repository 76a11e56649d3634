"""A lab's `lab.yaml` as a pydantic model: what the lab is, with no kernel in sight.

Checks are declared as a figure the procedure records and an expectation in a
small language that reads like the claim (`"> 0"`, `"== param.ports"`,
`"within 15% of figure.predicted_s"`, `"between 0.2 and 2"`); see docs/labs.md.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netlab import source as sources
from netlab.problems import from_validation
from netlab.errors import TopologyError
from netlab.loader import read_mapping

LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,40}\Z")
SECTION = re.compile(r"^\d+(\.\d+){0,2}$")
OPERAND = r"(-?\d+(?:\.\d+)?(?:e-?\d+)?|(?:param|figure)\.[A-Za-z_][A-Za-z0-9_]*)"
EXPECT_FORMS = (
    re.compile(rf"^(==|!=|>=|<=|>|<)\s*{OPERAND}$"),
    re.compile(rf"^within\s+(\d+(?:\.\d+)?%?)\s+of\s+{OPERAND}$"),
    re.compile(rf"^between\s+{OPERAND}\s+and\s+{OPERAND}$"),
)
Scalar = Union[int, float, str, bool, list, dict, None]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def parse_expect(text: str) -> tuple[str, tuple[str, ...]]:
    """("op", operands) of an expectation; ValueError naming the accepted forms."""
    text = " ".join(str(text).split())
    compare, within, between = (form.match(text) for form in EXPECT_FORMS)
    if compare:
        return compare.group(1), (compare.group(2),)
    if within:
        return "within", within.groups()
    if between:
        return "between", between.groups()
    raise ValueError(f"{text!r} is not an expectation (e.g. '> 0', '== param.ports', "
                     "'within 15% of figure.predicted_s', 'between 0.2 and 2')")


class CheckSpec(Strict):
    """One claim of the book, checked against a figure the procedure records."""

    id: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    claim: str = Field(min_length=1)
    figure: str = Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    expect: str

    @field_validator("expect", mode="before")
    @classmethod
    def _expect(cls, value: Any) -> str:
        parse_expect(str(value))
        return " ".join(str(value).split())


class Duration(Strict):
    """Seconds a run takes here, roughly: `short` is the test form."""

    short: float = Field(gt=0)
    full: float = Field(gt=0)


class Params(Strict):
    short: dict[str, Scalar] = {}
    full: dict[str, Scalar] = {}

    @model_validator(mode="after")
    def _same_keys(self) -> "Params":
        if set(self.short) != set(self.full):
            odd = sorted(set(self.short) ^ set(self.full))
            raise ValueError(f"short and full must set the same parameters; only one sets: {', '.join(odd)}")
        return self


class LabSpec(Strict):
    """A lab as its `lab.yaml` declares it."""

    name: str
    chapter: tuple[str, ...] = Field(min_length=1)
    question: str = Field(min_length=1)
    duration: Duration
    topology: str | None = "topology.yaml"  # null: the procedure builds its network (a bench)
    procedure: str = "procedure.py"
    requires: tuple[str, ...] = ()
    params: Params = Params()
    steps: tuple[str, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    folder: Path = Field(default=Path("."), exclude=True)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not LAB_NAME.match(value):
            raise ValueError(f"{value!r} is not a lab name (lower-case letters, digits, -; e.g. syn-flood)")
        return value

    @field_validator("chapter", mode="before")
    @classmethod
    def _chapter(cls, value: Any) -> Any:
        values = [value] if isinstance(value, (str, int, float)) else value
        for v in values or ():
            if not SECTION.match(str(v)):
                raise ValueError(f"{v!r} is not a book section (e.g. 6.6.1 or 7)")
        return tuple(str(v) for v in values or ())

    @field_validator("requires")
    @classmethod
    def _features(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        from netlab.backend.features import all_features

        known = all_features()
        for feature in value:
            if feature not in known:
                raise ValueError(f"{feature!r} is not a kernel feature netlab probes ({', '.join(known)})")
        return value

    @model_validator(mode="after")
    def _unique_checks(self) -> "LabSpec":
        ids = [c.id for c in self.checks]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ValueError(f"check ids must be unique: {', '.join(dup)}")
        return self

    def params_for(self, short: bool) -> dict[str, Any]:
        return dict(self.params.short if short else self.params.full)

    @property
    def topology_path(self) -> Path | None:
        return self.folder / self.topology if self.topology else None

    @property
    def procedure_path(self) -> Path:
        return self.folder / self.procedure


def load_text(text: str, source: str, folder: Path) -> LabSpec:
    """Parse and check a lab.yaml; TopologyError lists every problem as file:line:col."""
    raw, locator = read_mapping(text, source, "a lab.yaml is a mapping with name, chapter, question")
    try:
        spec = LabSpec.model_validate({**raw, "folder": folder})
    except ValidationError as err:
        raise TopologyError(from_validation(err, LabSpec, locator)) from None
    problems = []
    for field, path in (("topology", spec.topology_path), ("procedure", spec.procedure_path)):
        if path is not None and not path.is_file():
            problems.append(locator.problem((field,), f"{path} does not exist"))
    if problems:
        raise TopologyError(problems)
    return spec


def load(path: Path) -> LabSpec:
    text, name = sources.read(path)
    return load_text(text, name, path.parent)
