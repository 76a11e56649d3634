"""The Docker backend: containers as lab nodes, through the Docker SDK for Python.

A docker node's container starts with ``network_mode=none``: the engine gives it
a namespace holding only ``lo``, and netlab names that namespace under
/run/netns (``ip netns attach``), so every later step plumbs it exactly as a
netns node. Every container carries the labels ``netlab.lab`` and
``netlab.node``; removal goes by those labels, never by a name alone, so a
container that is not netlab's is never touched.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import tarfile
import time
from collections.abc import Sequence

import docker
from docker.errors import DockerException, NotFound

from netlab import names
from netlab.backend import netns
from netlab.backend.base import StepFailed

# The one image netlab makes itself (topologies may name it; it is built on first use)
BUSYBOX_IMAGE = "netlab/busybox"
BUSYBOX_BINARY = "/bin/busybox"  # Debian's busybox-static
BUSYBOX_LABEL = "netlab.busybox.sha256"


def client() -> docker.DockerClient:
    """A client of the local engine (DOCKER_HOST or /var/run/docker.sock), API version negotiated."""
    return docker.from_env(version="auto", timeout=60)


def lab_labels(lab: str, node: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The labels every container of a lab carries (the user's own, then netlab's mark)."""
    return {**(extra or {}), names.LABEL_LAB: lab, names.LABEL_NODE: node}


def ours(api: docker.DockerClient, lab: str | None = None, node: str | None = None) -> list:
    """Containers (running or not) carrying netlab's labels: of ``lab`` (and ``node``), or of any lab."""
    wanted = [f"{names.LABEL_LAB}={lab}" if lab else names.LABEL_LAB]
    if node:
        wanted.append(f"{names.LABEL_NODE}={node}")
    return api.containers.list(all=True, filters={"label": wanted})


class DockerBackend:
    """Runs the plan ops that need the engine: ``docker.run``, ``docker.remove``, ``netns.attach``."""

    def __init__(self, api: docker.DockerClient | None = None) -> None:
        self._api = api

    @property
    def api(self) -> docker.DockerClient:
        if self._api is None:
            self._api = client()
        return self._api

    def run(self, op: str, batch: Sequence[dict]) -> None:
        method = getattr(self, op.replace(".", "_"))
        for i, args in enumerate(batch):
            try:
                method(**args)
            except (DockerException, OSError, RuntimeError) as exc:
                raise StepFailed(i, exc) from exc

    def close(self) -> None:
        if self._api is not None:
            self._api.close()
            self._api = None

    def docker_run(self, container: str, lab: str, node: str, image: str, command: str | list[str] | None = None,
                   env: dict | None = None, binds: Sequence[str] = (), labels: dict | None = None,
                   restart: str = "no") -> None:
        policy = None if restart == "no" else {"Name": restart}
        environment = {k: str(v) for k, v in (env or {}).items()}
        self.api.containers.run(image, command, name=container, hostname=node, detach=True, network_mode="none",
                                labels=lab_labels(lab, node, labels), environment=environment,
                                volumes=list(binds), restart_policy=policy)

    def docker_remove(self, lab: str, node: str, **_: object) -> None:
        """Remove the node's container, found by label; nothing there is not an error."""
        for c in ours(self.api, lab, node):
            try:
                c.remove(force=True, v=True)
            except NotFound:
                pass

    def netns_attach(self, ns: str, container: str) -> None:
        c = self.api.containers.get(container)
        pid = c.attrs["State"].get("Pid") if c.attrs["State"].get("Running") else None
        if pid:
            try:
                netns.attach(ns, pid)
                return
            except OSError:
                if os.path.exists(f"/proc/{pid}/ns/net"):
                    raise
                # the process went away while its namespace was being named: it exited
        raise RuntimeError(_exited(c))


def _exited(container, wait: float = 5.0) -> str:
    """What a container that stopped says for itself: its state, exit code and last lines of log."""
    deadline = time.monotonic() + wait
    while container.attrs["State"].get("Running") and time.monotonic() < deadline:
        time.sleep(0.05)  # the engine records the exit a moment after the process is gone
        container.reload()
    state = container.attrs["State"]
    return (f"container {container.name} is {state.get('Status')} (exit code {state.get('ExitCode')}): "
            f"{_last_log(container)}")


def _last_log(container, lines: int = 3) -> str:
    try:
        text = container.logs(tail=lines).decode(errors="replace").strip()
    except DockerException:
        return "no logs"
    return text.replace("\n", " | ") or "it printed nothing"


def same_netns(ns: str, pid: int) -> bool:
    """True if process ``pid`` is still in the namespace named ``ns`` (a restarted
    container gets a new one, without the lab's interfaces)."""
    try:
        a, b = os.stat(netns.path(ns)), os.stat(f"/proc/{pid}/ns/net")
    except OSError:
        return False
    return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def image_present(api: docker.DockerClient, image: str) -> bool:
    return _found(api.images.get, image)


def container_exists(api: docker.DockerClient, name: str) -> bool:
    return _found(api.containers.get, name)


def _found(get, name: str) -> bool:
    try:
        get(name)
    except NotFound:  # ImageNotFound too
        return False
    return True


def busybox_image(api: docker.DockerClient, busybox: str = BUSYBOX_BINARY) -> str:
    """Make sure ``netlab/busybox`` is here: a tiny image built with ``docker import``
    from busybox-static and its applets (sh, sleep, httpd, nc, ip, ping…), sleeping by
    default; no registry needed. Rebuilt when its root file system would differ (a new
    busybox binary, or a new recipe here): an image an older netlab left is never reused
    as if it were this one's. Returns its name."""
    with open(busybox, "rb") as fh:
        blob = fh.read()
    applets = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    rootfs = _rootfs(blob, applets)
    digest = hashlib.sha256(rootfs).hexdigest()
    try:
        if api.images.get(BUSYBOX_IMAGE).labels.get(BUSYBOX_LABEL) == digest:
            return BUSYBOX_IMAGE
    except NotFound:
        pass
    api.api.import_image_from_data(rootfs, repository=BUSYBOX_IMAGE, tag="latest",
                                   changes=['CMD ["/bin/sleep", "2147483647"]', "ENV PATH=/bin",
                                            f"LABEL {BUSYBOX_LABEL}={digest}"])
    return BUSYBOX_IMAGE


def _rootfs(busybox: bytes, applets: list[str]) -> bytes:
    """A tar of the root file system: /bin/busybox, a symlink per applet, and the few
    directories and files a shell and httpd expect."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        for d, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("proc", 0o555), ("sys", 0o555),
                        ("dev", 0o755), ("root", 0o700), ("www", 0o755), ("var", 0o755)):
            info = tarfile.TarInfo(d)
            info.type, info.mode = tarfile.DIRTYPE, mode
            tar.addfile(info)
        files = {"bin/busybox": (busybox, 0o755), "etc/passwd": (b"root:x:0:0:root:/root:/bin/sh\n", 0o644),
                 "etc/group": (b"root:x:0:\n", 0o644)}
        for path, (data, mode) in files.items():
            info = tarfile.TarInfo(path)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
        for applet in sorted(set(applets) - {"busybox"}):
            info = tarfile.TarInfo(f"bin/{applet}")
            info.type, info.linkname = tarfile.SYMTYPE, "busybox"
            tar.addfile(info)
    return out.getvalue()
