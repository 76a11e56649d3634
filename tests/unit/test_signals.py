"""netlab's one signal policy: SIGTERM and SIGHUP interrupt like Ctrl-C while a lab is up,
and every signal waits while a lab is taken down, then acts."""

from __future__ import annotations

import os
import signal
import sys
import time

import pytest

from netlab import signals


def test_sigterm_and_sighup_raise_interrupted_in_the_body_and_the_handlers_come_back():
    before = {s: signal.getsignal(s) for s in signals.STOPPERS}
    for signum in signals.STOPPERS:
        with pytest.raises(signals.Interrupted) as err:
            with signals.interruptible():
                os.kill(os.getpid(), signum)
        assert err.value.signum == signum and err.value.exit_code == 128 + signum
        assert isinstance(err.value, KeyboardInterrupt)
    assert {s: signal.getsignal(s) for s in signals.STOPPERS} == before


def test_the_policy_lasts_until_its_last_user_leaves_in_any_order():
    before = signal.getsignal(signal.SIGTERM)
    first, second = signals.acquire(), signals.acquire()
    assert first is second and signal.getsignal(signal.SIGTERM) is first
    signals.release(first)  # the first lab down, the second still up
    assert signal.getsignal(signal.SIGTERM) is second
    signals.release(second)
    assert signal.getsignal(signal.SIGTERM) == before


def test_deferred_holds_a_signal_until_the_body_is_done_then_it_acts():
    finished = []
    with pytest.raises(KeyboardInterrupt):
        with signals.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            finished.append("teardown")
    assert finished == ["teardown"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_held_sigterm_interrupts_after_the_teardown_while_a_lab_is_up():
    done = []
    with pytest.raises(signals.Interrupted):
        with signals.interruptible():
            with signals.deferred():
                os.kill(os.getpid(), signal.SIGTERM)
                done.append(1)
    assert done == [1]


def test_exit_codes_follow_the_shell():
    assert signals.exit_code(KeyboardInterrupt()) == 130
    assert signals.exit_code(signals.Interrupted(signal.SIGTERM)) == 143


def test_an_interruption_python_could_only_report_is_delivered_again():
    """A SIGTERM whose Interrupted is raised where Python can only print "Exception ignored"
    (here a __del__; in the lab that lost one, logging's at-fork hook as a helper started)
    still interrupts the body."""
    class Swallows:
        def __del__(self):
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(100):  # the handler runs here, and __del__ cannot pass it on
                pass

    reported: list = []
    previous, sys.unraisablehook = sys.unraisablehook, reported.append
    try:
        with pytest.raises(signals.Interrupted):
            with signals.interruptible():
                Swallows()
                deadline = time.monotonic() + 5
                while time.monotonic() < deadline:
                    time.sleep(0.01)
        assert sys.unraisablehook == reported.append, "the policy's hook stayed after it was released"
        assert not reported, "the interruption reached the hook the policy replaced"
    finally:
        sys.unraisablehook = previous
