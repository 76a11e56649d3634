"""The one place that makes every name netlab gives a kernel object, and its ownership mark.

Rules, written once (as Mininet does for "{node}-ethN"):

- a node's network namespace is ``nl.<lab>.<node>`` under /run/netns; lab and
  node names may not contain dots, so the split is unambiguous;
- every interface netlab creates in the root namespace carries the alias ``netlab:<lab>:<node>`` and
  every namespace carries it on its ``lo``: that alias, not the name pattern, is
  the mark ``down --all`` trusts;
- the bridge-side end of a bridge member's veth is named from a short hash of
  (lab, bridge, node, interface), so it fits the kernel's 15 characters and two
  labs with the same names never collide inside one namespace; the two ends of
  a trunk between bridges are named the same way from (lab, bridge, other bridge);
- docker containers are named ``nl.<lab>.<node>`` and labelled ``netlab.lab=<lab>``.
"""

from __future__ import annotations

import hashlib
import re

NETNS_DIR = "/run/netns"
STATE_DIR = "/run/netlab"
NETNS_PREFIX = "nl."
MARK_PREFIX = "netlab:"
LABEL_LAB = "netlab.lab"
LABEL_NODE = "netlab.node"
IFNAMSIZ = 15  # Linux allows 15 visible characters (IFNAMSIZ 16 with the NUL)

LAB_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}\Z")
NODE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}\Z")
IFNAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,14}\Z")


def netns(lab: str, node: str) -> str:
    """Name of a node's namespace under /run/netns."""
    return f"{NETNS_PREFIX}{lab}.{node}"


def netns_path(lab: str, node: str) -> str:
    return f"{NETNS_DIR}/{netns(lab, node)}"


def parse_netns(name: str) -> tuple[str, str] | None:
    """(lab, node) of a netlab namespace name, or None if the name is not ours."""
    if not name.startswith(NETNS_PREFIX):
        return None
    parts = name[len(NETNS_PREFIX):].split(".")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def mark(lab: str, node: str) -> str:
    """The ownership alias set on every interface (and each namespace's lo)."""
    return f"{MARK_PREFIX}{lab}:{node}"


def parse_mark(alias: str | None) -> tuple[str, str] | None:
    if not alias or not alias.startswith(MARK_PREFIX):
        return None
    parts = alias[len(MARK_PREFIX):].split(":")
    return (parts[0], parts[1]) if len(parts) == 2 else None


def short_hash(*parts: str, size: int = 8) -> str:
    return hashlib.sha1("\0".join(parts).encode()).hexdigest()[:size]


def bridge_port(lab: str, bridge: str, node: str, ifname: str) -> str:
    """Name of the bridge-side end of a member's veth (lives in the bridge owner's namespace)."""
    return f"nlp{short_hash(lab, bridge, node, ifname, size=10)}"


def trunk_port(lab: str, bridge: str, other: str) -> str:
    """Name of the end of a trunk veth that is a port of ``bridge`` (its peer is a port of ``other``)."""
    return f"nlk{short_hash(lab, bridge, '<trunk>', other, size=10)}"


def host_peer_tmp(lab: str, node: str, ifname: str) -> str:
    """Temporary name for a veth end created in the root namespace before it moves."""
    return f"nlt{short_hash(lab, node, ifname, size=10)}"


def container(lab: str, node: str) -> str:
    return netns(lab, node)


def state_file(lab: str) -> str:
    return f"{STATE_DIR}/{lab}.json"
