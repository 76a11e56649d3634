"""netlab's one signal policy, for everything that holds a lab up (the API, the
labs, every benchmark):

- while a lab is up, SIGTERM and SIGHUP end the work as Ctrl-C does: they raise
  ``Interrupted`` (a KeyboardInterrupt), so ``with`` blocks and ``finally``
  clauses take the lab down;
- while a lab is built or taken down (or rolled back), SIGINT, SIGTERM and
  SIGHUP wait until that is over, then act as they would have: a teardown is
  never cut short, and the signal is not lost.

Python runs signal handlers in the main thread only; from another thread both
are no-ops and the caller tears down itself. The handler installed by
``interruptible`` counts the blocks using it, so labs brought up and down in
any order keep the policy until the last one is down.

An exception raised where Python can only report it (an at-fork callback, a
``__del__``: "Exception ignored in ...") would lose the signal: the lab ran on
after a SIGTERM that landed in logging's at-fork hook while a helper started.
While the policy holds, such an interruption is sent again a moment later.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

STOPPERS = (signal.SIGTERM, signal.SIGHUP)
HELD = (signal.SIGINT, *STOPPERS)


class Interrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived (Ctrl-C raises KeyboardInterrupt itself); ``signum`` says which."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"signal {signal.Signals(signum).name}")

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def exit_code(exc: KeyboardInterrupt) -> int:
    """The shell's exit code for an interruption: 130 for Ctrl-C, 128 + N for signal N."""
    return exc.exit_code if isinstance(exc, Interrupted) else 128 + signal.SIGINT


class _Raise:
    """The SIGTERM/SIGHUP handler while some block wants the policy; remembers what it replaced."""

    def __init__(self, previous: dict[int, Any]) -> None:
        self.previous = previous
        self.users = 0

    def __call__(self, signum: int, frame: Any) -> None:
        raise Interrupted(signum)


_previous_hook: Callable[[Any], Any] = sys.unraisablehook
REDELIVER_S = 0.005


def _send_soon(signum: int) -> None:
    time.sleep(REDELIVER_S)  # the main thread has left the hook (and the callback that lost it) by then
    os.kill(os.getpid(), signum)


def _redeliver(unraisable: Any) -> None:
    """sys.unraisablehook while the policy holds: an interruption Python could not
    raise where it arrived is sent again, from a thread, a moment later: sent from here,
    the handler would run inside this hook, where it is lost too (and if it lands in
    such a place again, it comes back here). Anything else goes to the hook this one
    replaced."""
    exc = unraisable.exc_value
    if isinstance(exc, KeyboardInterrupt) and isinstance(signal.getsignal(signal.SIGTERM), _Raise):
        signum = exc.signum if isinstance(exc, Interrupted) else signal.SIGINT
        threading.Thread(target=_send_soon, args=(signum,), name="netlab-redeliver", daemon=True).start()
        return
    _previous_hook(unraisable)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def acquire() -> _Raise | None:
    """Install the policy (or join the one installed); ``release`` it when done. None off the main thread."""
    if not _main_thread():
        return None
    handler = signal.getsignal(signal.SIGTERM)
    if not isinstance(handler, _Raise):
        handler = _Raise({s: signal.getsignal(s) for s in STOPPERS})
        for s in STOPPERS:
            signal.signal(s, handler)
        if sys.unraisablehook is not _redeliver:
            global _previous_hook
            _previous_hook, sys.unraisablehook = sys.unraisablehook, _redeliver
    handler.users += 1
    return handler


def release(handler: _Raise | None) -> None:
    """Leave the policy; the last user puts back what it replaced."""
    if handler is None or not _main_thread():
        return
    handler.users -= 1
    if handler.users <= 0 and signal.getsignal(signal.SIGTERM) is handler:
        for s, old in handler.previous.items():
            signal.signal(s, old)
        if sys.unraisablehook is _redeliver:
            sys.unraisablehook = _previous_hook


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Interrupted in the body, as Ctrl-C raises KeyboardInterrupt."""
    handler = acquire()
    try:
        yield
    finally:
        release(handler)


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP that arrive during the body are held until it ends;
    then the first of them is raised again and acts as it would have."""
    if not _main_thread():
        yield
        return
    caught: list[int] = []
    old = {s: signal.signal(s, lambda signum, frame: caught.append(signum)) for s in HELD}
    try:
        yield
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if caught:
            signal.raise_signal(caught[0])
