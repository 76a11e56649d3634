"""One backend for a whole plan: each op goes to the backend that owns it.

``docker.*`` and ``netns.attach`` (naming a container's namespace needs the
container's pid) go to the Docker backend, made on first use so a lab without
containers never needs an engine; every other op goes to the kernel backend.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from netlab.executor import Backend


class CompositeBackend:
    """Routes ``run(op, batch)`` by op name: an exact name or a ``prefix.`` in ``routes``, else ``default``."""

    def __init__(self, default: Backend, routes: Mapping[str, Callable[[], Backend]]) -> None:
        self._default = default
        self._routes = dict(routes)
        self._made: dict[Callable[[], Backend], Backend] = {}  # one backend per factory, however many routes

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


def lab_backend() -> CompositeBackend:
    """The backend ``up`` and ``down`` use: the kernel's, plus Docker's for container ops."""
    from netlab.backend.kernel import KernelBackend  # late: keeps this module free of pyroute2 for tests

    def docker_backend() -> Backend:
        from netlab.backend.docker import DockerBackend

        return DockerBackend()

    return CompositeBackend(KernelBackend(), {"docker.": docker_backend, "netns.attach": docker_backend})
