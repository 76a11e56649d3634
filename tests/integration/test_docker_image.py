"""netlab's own image: the top-level Dockerfile builds, and a lab run through the
image (privileged, host pid and network namespaces, /run/netns shared) appears on the
host's kernel, carries traffic, and is gone after `down`."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from netlab import deploy, names, state
from netlab.backend import netns

from .dockerlab import ROOT, docker_api  # noqa: F401  (fixture)
from .helpers import ping

pytestmark = [pytest.mark.root, pytest.mark.docker, pytest.mark.slow]
IMAGE = "netlab:test"
# Linux capabilities by number, as Docker names them (capability.h)
CAPS = ("CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID KILL SETGID SETUID SETPCAP LINUX_IMMUTABLE "
        "NET_BIND_SERVICE NET_BROADCAST NET_ADMIN NET_RAW IPC_LOCK IPC_OWNER SYS_MODULE SYS_RAWIO SYS_CHROOT "
        "SYS_PTRACE SYS_PACCT SYS_ADMIN SYS_BOOT SYS_NICE SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG MKNOD LEASE "
        "AUDIT_WRITE AUDIT_CONTROL SETFCAP MAC_OVERRIDE MAC_ADMIN SYSLOG WAKE_ALARM BLOCK_SUSPEND AUDIT_READ "
        "PERFMON BPF CHECKPOINT_RESTORE").split()


def _base() -> tuple[str, list[str]]:
    """(base image, extra build args): NETLAB_IMAGE_BASE if set (CI: the official python
    image), else a local Debian base made with mmdebstrap, which trusts this machine's CAs."""
    if os.environ.get("NETLAB_IMAGE_BASE"):
        return os.environ["NETLAB_IMAGE_BASE"], []
    out = subprocess.run([str(ROOT / "scripts" / "docker-base.sh")], capture_output=True, text=True, timeout=900)
    if out.returncode == 2:
        pytest.skip(f"no base image for the Dockerfile: {out.stderr.strip()}")
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip(), ["--build-arg", "PIP_CERT=/etc/ssl/certs/ca-certificates.crt"]


@pytest.fixture(scope="module")
def netlab_image(docker_api) -> str:
    base, extra = _base()
    out = subprocess.run(["docker", "build", "-q", "--network=host", "--build-arg", f"BASE={base}", *extra,
                          "-t", IMAGE, str(ROOT)], capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    return IMAGE


def privileged() -> list[str]:
    """`--privileged`, or where root lacks capabilities (a sandbox without CAP_SYS_RESOURCE)
    its equivalent less those: runc refuses to grant what the caller does not hold."""
    bounding = int(Path("/proc/self/status").read_text().split("CapBnd:")[1].split()[0], 16)
    missing = [i for i in range(len(CAPS)) if not bounding >> i & 1]
    if not missing:
        return ["--privileged"]
    drops = [f"--cap-drop={CAPS[i]}" for i in missing]
    return ["--cap-add=ALL", *drops, "--security-opt", "seccomp=unconfined", "--security-opt", "apparmor=unconfined",
            "--security-opt", "systempaths=unconfined"]


def netlab_in_image(image: str, labs: Path, *argv: str) -> subprocess.CompletedProcess:
    cmd = ["docker", "run", "--rm", *privileged(), "--pid=host", "--network=host",
           "-v", "/run/netns:/run/netns:shared", "-v", f"{names.STATE_DIR}:{names.STATE_DIR}",
           "-v", f"{labs}:/labs:ro", image, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_the_image_reads_yaml_with_the_c_builder(netlab_image):
    """The image builds netlab's YAML reader in C (gcc and the headers only for the build)."""
    out = subprocess.run(["docker", "run", "--rm", "--entrypoint", "python", netlab_image, "-c",
                          "from netlab import yamlread; print(yamlread.BUILDER)"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == "c", (out.stdout, out.stderr[-1000:])


@pytest.mark.timeout(900)
def test_a_lab_through_netlabs_image(netlab_image, lab_name, tmp_path):
    # topologies/nat.yaml under the test's own lab name
    text = (ROOT / "topologies" / "nat.yaml").read_text().replace("\nname: nat\n", f"\nname: {lab_name}\n")
    (tmp_path / "nat.yaml").write_text(text)
    os.makedirs(names.STATE_DIR, exist_ok=True)
    nodes = ["gw", "h1", "h2", "outside"]

    up = netlab_in_image(netlab_image, tmp_path, "up", "/labs/nat.yaml")
    assert up.returncode == 0, up.stderr
    assert all(netns.exists(names.netns(lab_name, n)) for n in nodes)  # on the host's kernel
    assert ping(lab_name, "h1", "203.0.113.2")  # through the gateway's masquerade
    view = netlab_in_image(netlab_image, tmp_path, "status", lab_name, "--json")
    assert view.returncode == 0, view.stderr
    assert sorted(json.loads(view.stdout)["nodes"]) == sorted(nodes)
    down = netlab_in_image(netlab_image, tmp_path, "down", lab_name)
    assert down.returncode == 0, down.stderr
    assert not any(netns.exists(names.netns(lab_name, n)) for n in nodes) and not state.exists(lab_name)

    # made in the image, removed from the host
    assert netlab_in_image(netlab_image, tmp_path, "up", "/labs/nat.yaml").returncode == 0
    assert not deploy.down(lab_name)
    assert not any(netns.exists(names.netns(lab_name, n)) for n in nodes)
