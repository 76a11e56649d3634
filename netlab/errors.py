"""Errors netlab reports to users: each names where and what, and what is accepted."""

from __future__ import annotations

from dataclasses import dataclass


class NetlabError(Exception):
    """An error the user can act on; the CLI prints it without a traceback and exits with ``exit_code``."""

    exit_code = 1


class UsageError(NetlabError):
    """A command given something that does not exist or does not fit (exit 2, as click's usage errors)."""

    exit_code = 2


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a topology file, at a place in it."""

    file: str
    line: int
    col: int
    field: str
    message: str

    def __str__(self) -> str:
        if self.line <= 0:  # no place in the file: the file itself, or data that came from Python
            return f"{self.file}: {self.message}" if self.field == "(file)" else f"{self.file}: {self.field}: {self.message}"
        return f"{self.file}:{self.line}:{self.col}: {self.field}: {self.message}"


class TopologyError(NetlabError):
    """A topology file that cannot be built; carries every problem found at once."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class LabExists(NetlabError):
    """A lab of that name (or one of its namespaces or containers) is already there."""


class NoSuchLab(NetlabError):
    """No lab of that name is up."""


class FeatureMissing(NetlabError):
    """The running kernel lacks something a lab asked for (e.g. netem)."""
