"""The ``docker`` node kind: a container as a lab node, wired like a netns node.

The container starts with ``network_mode: none``; netlab names its namespace
``nl.<lab>.<node>`` under /run/netns (``ip netns attach``), so veth pairs,
addresses, routes, sysctls and NAT reach it exactly as they reach a plain
namespace — what the book's chapter 10 shows Docker itself does.
``netlab exec`` runs ``docker exec``, so commands see the image's file system.

The Docker SDK is imported only where a docker node is used (inside the
methods): with requests it costs ~0.3 s, on every start of the CLI otherwise.
"""

from __future__ import annotations

import shutil
from types import MappingProxyType
from typing import Literal, Union

from pydantic import Field, field_validator

from netlab import names
from netlab.backend.base import Backend
from netlab.errors import LabExists, NetlabError
from netlab.kinds.base import NodeKind, Problems
from netlab.model import NodeSpec
from netlab.step import Step

RESTART = Literal["no", "on-failure", "always", "unless-stopped"]


class DockerSpec(NodeSpec):
    """A docker node: what `docker run` would be given, less the network (netlab plumbs it)."""

    kind: Literal["docker"] = "docker"
    image: str = Field(min_length=1, description="a local image, e.g. nginx:1.25 (netlab never pulls); "
                                                 "netlab/busybox is made on first use from busybox-static")
    command: Union[str, tuple[str, ...], None] = Field(default=None, description="overrides the image's CMD")
    env: dict[str, Union[str, int]] = {}
    binds: tuple[str, ...] = Field(default=(), description="host:container[:ro|rw], e.g. /srv/www:/www:ro")
    labels: dict[str, str] = {}
    restart: RESTART = Field(default="no", description="docker's restart policy (a restart loses the "
                                                       "lab's interfaces: `netlab status` reports it)")

    @field_validator("binds")
    @classmethod
    def _binds(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for bind in value:
            parts = bind.split(":")
            # host paths only: a named volume would outlive the lab
            if not (2 <= len(parts) <= 3 and parts[0].startswith("/") and parts[1].startswith("/")
                    and (len(parts) == 2 or parts[2] in ("ro", "rw"))):
                raise ValueError(f"{bind!r} is not a bind (/host/path:/container/path[:ro|rw], "
                                 "e.g. /srv/www:/www:ro)")
        return value


def _engine_backend() -> Backend:
    """The backend of the container ops, made on first use: a lab without containers never needs an engine."""
    from netlab.backend.docker import DockerBackend

    return DockerBackend()


def _docker_run_words(a: dict) -> str:
    command = a.get("command")
    text = command if isinstance(command, str) else " ".join(command or ())
    return f"docker run -d --name {a['container']} --network none {a['image']}" + (f" {text}" if text else "")


class DockerKind(NodeKind):
    """A container started by the Docker engine with no network of its own."""

    name = "docker"
    spec = DockerSpec
    ops = MappingProxyType({
        "docker.run": _docker_run_words,
        "netns.attach": lambda a: f"ip netns attach {a['ns']} <pid of container {a.get('container', '?')}>",
    })
    # naming a container's namespace needs the container's pid: the engine's backend does it
    backends = MappingProxyType({"docker.": _engine_backend, "netns.attach": _engine_backend})

    def create(self, lab: str, node: str, spec: NodeSpec) -> list[Step]:
        assert isinstance(spec, DockerSpec)
        ns, container = names.netns(lab, node), names.container(lab, node)
        command = list(spec.command) if isinstance(spec.command, tuple) else spec.command
        run = {"container": container, "lab": lab, "node": node, "image": spec.image, "command": command,
               "env": dict(spec.env), "binds": list(spec.binds), "labels": dict(spec.labels), "restart": spec.restart}
        # Docker turns IPv6 off in a container without a network of its own; a netns node
        # has it on, and so does a docker node (its own `sysctls` come later and win).
        ipv6 = [Step("sysctl.set", {"ns": ns, "key": f"net.ipv6.conf.{dev}.disable_ipv6", "value": "0"}, scope=ns)
                for dev in ("all", "default")]
        return [Step("docker.run", run, undo="docker.remove"),
                Step("netns.attach", {"ns": ns, "container": container}, undo="netns.delete"),
                Step("netns.mark", {"ns": ns, "alias": names.mark(lab, node)}, scope=ns), *ipv6]

    def exec_argv(self, lab: str, node: str, argv: list[str]) -> tuple[str | None, list[str]]:
        """`docker exec` in the container: its namespaces, its file system, its environment."""
        return None, [shutil.which("docker") or "docker", "exec", names.container(lab, node), *argv]

    def problems(self, node: str, spec: NodeSpec) -> Problems:
        assert isinstance(spec, DockerSpec)
        reserved = [k for k in spec.labels if k in (names.LABEL_LAB, names.LABEL_NODE)]
        return [(("labels", k), f"{k} is netlab's own label (it marks the lab's containers)") for k in reserved]

    def preflight(self, lab: str, node: str, spec: NodeSpec) -> None:
        """Before anything is built: the engine answers, the image is here, the name is free."""
        from netlab.backend import docker as engine

        assert isinstance(spec, DockerSpec)
        try:
            api = engine.client()
        except engine.DockerException as exc:
            raise NetlabError(f"node {node} is a docker node but the Docker engine does not answer ({exc}); "
                              "start it (scripts/start-dockerd.sh)") from None
        try:
            if spec.image in (engine.BUSYBOX_IMAGE, f"{engine.BUSYBOX_IMAGE}:latest"):
                _busybox(api)
            elif not engine.image_present(api, spec.image):
                raise NetlabError(f"node {node}: image {spec.image!r} is not on this machine; netlab never pulls: "
                                  f"`docker pull {spec.image}` or build it first")
            container = names.container(lab, node)
            if engine.container_exists(api, container):
                raise LabExists(f"container {container} already exists; `netlab down --all` removes "
                                "netlab's leftovers (or `docker rm -f` it)")
        except engine.DockerException as exc:  # e.g. an image name the engine cannot parse
            raise NetlabError(f"node {node}: image {spec.image!r}: {exc}") from None
        finally:
            api.close()

    def health(self, lab: str, node: str) -> dict:
        """The container as the engine reports it; ``error`` if it exited, restarted or is gone."""
        from netlab.backend import docker as engine

        container = names.container(lab, node)
        try:
            api = engine.client()
        except engine.DockerException as exc:
            return {"container": container, "error": f"the Docker engine does not answer: {exc}"}
        try:
            found = engine.ours(api, lab, node)
            if not found:
                return {"container": container, "error": f"container {container} is gone"}
            attrs = found[0].attrs
        finally:
            api.close()
        state = attrs["State"]
        out = {"container": container, "image": attrs["Config"]["Image"], "container_status": state["Status"],
               "restarts": attrs.get("RestartCount", 0), "started_at": state.get("StartedAt")}
        if not state.get("Running"):
            out["error"] = f"container {container} {state['Status']} (exit code {state.get('ExitCode')})"
        elif not engine.same_netns(names.netns(lab, node), state["Pid"]):
            out["error"] = (f"container {container} restarted: it runs in a new network namespace without the "
                            f"lab's interfaces (`netlab down {lab}` and `up` again)")
        return out

    def sweep(self, lab: str | None) -> list[str]:
        """Remove every container carrying netlab's lab label (of ``lab``, or of any lab
        for ``down --all``); problems met."""
        from netlab.backend import docker as engine

        try:
            api = engine.client()
        except engine.DockerException:
            return []  # no engine: no container of netlab's can be running
        problems = []
        try:
            for c in engine.ours(api, lab):
                try:
                    c.remove(force=True, v=True)
                except engine.DockerException as exc:
                    problems.append(f"docker rm -f {c.name}: {exc}")
        finally:
            api.close()
        return problems


def _busybox(api) -> None:
    """netlab/busybox is made here, from the busybox-static package, the first time a lab names it."""
    from netlab.backend import docker as engine

    try:
        engine.busybox_image(api)
    except FileNotFoundError:
        raise NetlabError(f"image {engine.BUSYBOX_IMAGE!r} is made from {engine.BUSYBOX_BINARY}, which is missing: "
                          "install busybox-static (`make install`)") from None
    except engine.DockerException as exc:
        raise NetlabError(f"making image {engine.BUSYBOX_IMAGE!r} failed: {exc}") from None
