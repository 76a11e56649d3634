"""One backend for a whole plan: each op goes to the backend that owns it.

Node kinds declare the ops they run elsewhere (the docker kind: ``docker.*`` and
``netns.attach`` go to the engine's backend); each such backend is made on first
use, so a lab without containers never needs an engine. Every other op goes to
the default, the kernel backend.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from netlab.backend.base import Backend, BackendFactory


class CompositeBackend:
    """Routes ``run(op, batch)`` by op name: an exact name or a ``prefix.`` in ``routes``, else ``default``."""

    def __init__(self, default: Backend, routes: Mapping[str, BackendFactory]) -> None:
        self._default = default
        self._routes = dict(routes)
        self._made: dict[BackendFactory, Backend] = {}  # one backend per factory, however many routes

    def _owner(self, op: str) -> Backend:
        key = op if op in self._routes else op.split(".", 1)[0] + "."
        make = self._routes.get(key)
        if make is None:
            return self._default
        if make not in self._made:
            self._made[make] = make()
        return self._made[make]

    def run(self, op: str, batch: Sequence[dict]) -> None:
        self._owner(op).run(op, batch)

    def close(self) -> None:
        for backend in self._made.values():
            backend.close()
        self._made.clear()
        self._default.close()
