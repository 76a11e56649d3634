"""A real kernel call that fails, through the installed `netlab` command: reported as a
line (or JSON) naming the call and the errno, exit 1, no traceback."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.root
NETLAB = str(Path(sys.executable).parent / "netlab")


def _without_cap_sys_admin(*argv: str) -> subprocess.CompletedProcess:
    """Run netlab as root, but with CAP_SYS_ADMIN out of its bounding set: unshare(2) and setns(2) fail."""
    return subprocess.run(["setpriv", "--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", NETLAB, *argv],
                          capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(shutil.which("setpriv") is None, reason="setpriv (util-linux) is not installed")
def test_a_failing_kernel_call_is_reported_not_traced():
    # `features` probes in a scratch network namespace: unshare(CLONE_NEWNET) is refused
    out = _without_cap_sys_admin("features")
    assert out.returncode == 1 and "Traceback" not in out.stderr + out.stdout, out.stderr
    assert out.stderr.startswith("error: unshare: Operation not permitted (EPERM)") and "--privileged" in out.stderr
    out = _without_cap_sys_admin("features", "--json")
    assert out.returncode == 1 and json.loads(out.stdout)["error"].startswith("unshare: Operation not permitted")
