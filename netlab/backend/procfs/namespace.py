"""Counters and sysctls of a network namespace, read from inside it through
/proc/thread-self/net: /proc/net follows the process's main thread, which may sit in
another namespace than the thread that entered a node."""

from __future__ import annotations

from netlab.backend import netns
from netlab.backend.procfs.files import in_namespace, text
from netlab.backend.procfs.parse import parse_netdev, parse_snmp, parse_sockstat


def nstat(ns: str | None) -> dict[str, int]:
    """Every SNMP and netstat counter of namespace ``ns`` (None: this thread's)."""
    return {**parse_snmp(in_namespace(ns, "/proc/thread-self/net/snmp")),
            **parse_snmp(in_namespace(ns, "/proc/thread-self/net/netstat"))}


def sockstat(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_sockstat(in_namespace(ns, "/proc/thread-self/net/sockstat"))


def netdev(ns: str | None) -> dict[str, dict[str, int]]:
    return parse_netdev(in_namespace(ns, "/proc/thread-self/net/dev"))


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def sysctl_get(ns: str | None, key: str) -> str:
    """A sysctl's value as namespace ``ns`` sees it (None: this thread's); FileNotFoundError if absent."""
    return " ".join(in_namespace(ns, sysctl_path(key)).split())


def sysctl_read(key: str, default: str | None = None) -> str | None:
    """A sysctl's value as this thread's namespace sees it; ``default`` if it cannot be read."""
    try:
        return text(sysctl_path(key)).strip()
    except OSError:
        return default


def sysctl_set(ns: str, key: str, value: object) -> str:
    """Set a per-namespace sysctl inside ``ns``; return the old value. Refuses keys
    the kernel keeps machine-wide (outside net.*) and the root namespace."""
    if not ns:
        raise ValueError("labs set sysctls inside lab namespaces only, never in the root namespace")
    if not key.startswith("net."):
        raise ValueError(f"{key} is not a per-namespace (net.*) sysctl")
    old = sysctl_get(ns, key)
    written = " ".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
    with netns.entered(ns):
        with open(sysctl_path(key), "w") as fh:
            fh.write(written)
    return old
