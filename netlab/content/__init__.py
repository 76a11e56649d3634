"""What ships with netlab besides its code: the book's labs and the example and
benchmark topologies, found with importlib.resources wherever netlab is installed.

In the repository they stay at the top level (labs/, topologies/); pyproject.toml
maps them into the package as ``netlab.content.labs`` and ``netlab.content.topologies``
(setuptools package-dir), so a wheel carries them and an editable install finds
the checkout's own folders.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from netlab.errors import NetlabError


def _folder(package: str) -> Path:
    found = resources.files(package)
    if not isinstance(found, Path):  # only a zipped install would do this
        raise NetlabError(f"{package} is not a folder on disk ({found!r}): install netlab unzipped")
    return found


def labs_dir() -> Path:
    """The folder of the shipped labs (one folder with a lab.yaml per lab)."""
    return _folder("netlab.content.labs")


def topologies_dir() -> Path:
    """The folder of the shipped topologies (examples, and the benchmarks' labs)."""
    return _folder("netlab.content.topologies")
