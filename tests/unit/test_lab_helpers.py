"""What labs use to run and watch their helper processes, without root: per-thread
/proc counters, the line protocol of a helper, grouped bar charts."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from netlab.labs import charts, helper, tasks
from netlab.labs.context import LabContext
from netlab.labs.spec import LabSpec

# A helper in the protocol: a ready line, then one answer per stdin line, exit on EOF.
COUNTER = """
import sys
print("ready 4242", flush=True)
n = 0
for line in sys.stdin:
    n += 1
    print(f"asked={n} pid=1", flush=True)
"""


def start(code: str) -> helper.Helper:
    proc = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, bufsize=0)
    return helper.Helper(proc, "test helper")


def leader_voluntary() -> int:
    with open(f"/proc/{os.getpid()}/status") as fh:
        return next(int(ln.split()[1]) for ln in fh if ln.startswith("voluntary_ctxt_switches:"))


def test_counters_sum_every_thread():
    done = threading.Event()

    def sleeper() -> None:
        for _ in range(20):
            time.sleep(0.001)  # each sleep is a voluntary switch of this thread
        done.wait()

    threads = [threading.Thread(target=sleeper) for _ in range(3)]
    before, leader = tasks.counters(os.getpid()), leader_voluntary()
    for t in threads:
        t.start()
    time.sleep(0.3)
    during = tasks.counters(os.getpid())
    done.set()
    for t in threads:
        t.join()
    moved = during - before
    assert during.threads >= 4 and moved.cpu_ns > 0
    assert moved.voluntary >= 60  # the threads' sleeps (their own /proc/PID/task/TID/status)
    assert leader_voluntary() - leader < 60  # which the leader's /proc/PID/status does not show
    assert moved.switches == moved.voluntary + moved.involuntary


def test_counters_of_a_gone_process():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    with pytest.raises(ProcessLookupError):
        tasks.counters(proc.pid)


def test_helper_answers_in_lines():
    with start(COUNTER) as h:
        assert h.line() == "ready 4242"
        assert h.ask() == {"asked": 1, "pid": 1}
        assert h.ask()["asked"] == 2
    assert h.proc.returncode == 0  # closing stdin ended it


def test_helper_that_dies_says_why():
    with start("import sys; sys.stderr.write('no such mode'); sys.exit(2)") as h:
        with pytest.raises(helper.HelperError, match=r"exited \(2\): no such mode"):
            h.line(10)


def test_helper_that_stays_silent_times_out():
    h = start("import time; time.sleep(30)")
    try:
        with pytest.raises(helper.HelperError, match="printed nothing within 0.2 s"):
            h.line(0.2)
    finally:
        h.close(timeout=0.1)  # it does not read stdin: killed
    assert h.proc.returncode is not None


def test_helper_answer_not_counters():
    with start("print('ready', flush=True); input(); print('what?', flush=True)") as h:
        h.line()
        with pytest.raises(helper.HelperError, match="not key=value"):
            h.ask()


def test_grouped_bars(tmp_path):
    ctx = LabContext(LabSpec(name="demo", chapter=("3.4",), question="?", duration={"short": 1, "full": 1}),
                     "lb-demo-000000", None, True, {})
    ctx.bars("woken", "woken", "processes", {"accept": {"2 waiting": 1, "4 waiting": 1},
                                              "epoll": {"2 waiting": 2, "4 waiting": 4}})
    ctx.bars("single", "one group", "ms", {"a": 1.5, "b": 0.1})
    grouped, single = ctx.series
    assert grouped.categories == ("2 waiting", "4 waiting")
    assert grouped.lines == {"accept": [(0, 1), (1, 1)], "epoll": [(0, 2), (1, 4)]}
    assert single.lines == {"ms": [(0, 1.5), (1, 0.1)]} and single.categories == ("a", "b")
    for series in ctx.series:
        assert charts.draw(series, tmp_path / f"{series.name}.png").stat().st_size > 1000
