"""What only this machine's kernel can tell, asked before a lab changes anything.

Sysctls are tried for real in a throw-away namespace: a thread unshares its
network namespace (never named under /run/netns, gone when the thread leaves
it), writes each value there, and reports why the kernel refused it. A lab
node is a child namespace too, so what works here works in the node.
"""

from __future__ import annotations

import ctypes
import os
import socket
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from netlab.backend import netns

T = TypeVar("T")
_libc = ctypes.CDLL(None, use_errno=True)

MAX_NET_NAMESPACES = "/proc/sys/user/max_net_namespaces"


def in_scratch_namespace(work: Callable[[], T]) -> T:
    """``work()`` run by a thread inside a new, unnamed network namespace."""
    out: list = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            if _libc.unshare(netns.CLONE_NEWNET) != 0:  # the thread never goes back: it ends
                err = ctypes.get_errno()
                raise OSError(err, f"unshare(CLONE_NEWNET): {os.strerror(err)}")
            out.append(work())
        except BaseException as exc:  # handed to the caller below
            errors.append(exc)

    worker = threading.Thread(target=target, name="netlab-scratch-netns")
    worker.start()
    worker.join()
    if errors:
        raise errors[0]
    return out[0]


def sysctl_refusals(settings: Iterable[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """{(key, value): why a child namespace refuses it} for the settings this kernel will not take."""
    wanted = list(dict.fromkeys(settings))

    def attempt() -> dict[tuple[str, str], str]:
        refused = {}
        for key, value in wanted:
            why = _write(key, value)
            if why:
                refused[key, value] = why
        return refused

    return in_scratch_namespace(attempt) if wanted else {}


def _write(key: str, value: str) -> str | None:
    path = "/proc/sys/" + key.replace(".", "/")
    try:
        with open(path, "w") as fh:
            fh.write(value)
    except FileNotFoundError:
        return "this kernel has no such sysctl in a lab node's namespace (it is the whole machine's, or absent)"
    except IsADirectoryError:
        return "a group of sysctls, not one"
    except PermissionError:
        return "read-only in a lab node's namespace on this kernel: it is one value for the whole machine"
    except OSError as exc:
        return f"this kernel refuses the value {value!r} ({os.strerror(exc.errno) if exc.errno else exc})"
    return None


def existing_links(names: Iterable[str]) -> list[str]:
    """The names among ``names`` that already are interfaces of this (the host's) namespace."""
    found = []
    for name in names:
        try:
            socket.if_nametoindex(name)
        except OSError:
            continue
        found.append(name)
    return found


def max_net_namespaces() -> int | None:
    """How many network namespaces the kernel allows (user.max_net_namespaces), if it says."""
    try:
        with open(MAX_NET_NAMESPACES) as fh:
            return int(fh.read())
    except (OSError, ValueError):
        return None


def named_namespaces() -> int:
    return len(netns.listing())
