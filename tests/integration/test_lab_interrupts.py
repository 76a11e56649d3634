"""A lab whose helpers (C programs, a Python server) run in its namespaces leaves none of
them behind: SIGINT and SIGTERM take the lab down with its helpers, and a SIGKILLed
netlab still takes its helpers with it (PR_SET_PDEATHSIG)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from netlab import deploy, names, state
from tests.conftest import lab_leftovers
from tests.integration.test_labs import _run_name_of

pytestmark = [pytest.mark.root, pytest.mark.slow]
LAB, NODES = "blocking-vs-epoll", ("client", "server")


def processes_in(inodes: set[int]) -> list[int]:
    """Every process whose network namespace is one of ``inodes``."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if os.stat(f"/proc/{pid}/ns/net").st_ino in inodes:
                found.append(int(pid))
        except OSError:
            continue
    return found


def start_lab() -> tuple[subprocess.Popen, str, set[int]]:
    """The lab running with its client and server helpers up; its name and namespaces' inodes."""
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "lab", "run", LAB, "--short"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lab = _run_name_of(proc, f"lb-{LAB}-")
    deadline = time.monotonic() + 60
    while True:
        try:
            inodes = {os.stat(f"{names.NETNS_DIR}/{names.netns(lab, n)}").st_ino for n in NODES}
            if len(processes_in(inodes)) >= 2:
                return proc, lab, inodes
        except FileNotFoundError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, "the lab's helpers never ran"
        time.sleep(0.05)


def gone(inodes: set[int], timeout: float = 5) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := processes_in(inodes)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_lab_ends_its_helpers(sig):
    proc, lab, inodes = start_lab()
    try:
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + sig, err
    assert not gone(inodes), "helpers outlived the lab"
    assert not lab_leftovers(lab), lab_leftovers(lab)


def test_helpers_die_with_a_killed_netlab():
    proc, lab, inodes = start_lab()
    try:
        proc.kill()
        proc.wait(10)
        assert not gone(inodes), "helpers outlived netlab"
    finally:
        if state.exists(lab):  # no teardown ran: the namespaces are still there
            deploy.down(lab)
    assert not lab_leftovers(lab), lab_leftovers(lab)
