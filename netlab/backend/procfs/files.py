"""Reading a /proc file, here or from inside a namespace."""

from __future__ import annotations

from netlab.backend import netns


def text(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def in_namespace(ns: str | None, path: str) -> str:
    """``path`` read by this thread from inside namespace ``ns`` (None: here)."""
    with netns.entered(ns):
        return text(path)
