"""Keep the kernel from answering hand-made TCP with RST.

A SYN-ACK to a SYN that scapy sent reaches the kernel, which knows no socket
for it and answers with RST: the half-open connection is gone. An nftables
rule in the sending node's namespace drops those RSTs; its table is removed
when the context ends (and with the namespace in any case).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from netlab.backend import nft
from netlab.errors import NetlabError

TABLE = "netlab_traffic"


def rst_rule(dst: str, dport: int) -> str:
    """The nft rule (for an output chain) dropping our RSTs towards dst:dport."""
    return f"ip daddr {dst} tcp dport {int(dport)} tcp flags & rst == rst drop"


def _nft(text: str) -> None:
    try:
        nft.command(text)
    except RuntimeError as exc:  # a traffic tool's error, said without a traceback
        raise NetlabError(str(exc)) from None


@contextlib.contextmanager
def rst_suppressed(dst: str, dport: int) -> Iterator[None]:
    """For the body, this process's namespace sends no RST to dst:dport."""
    _nft(f"add table inet {TABLE}; add chain inet {TABLE} output {{ type filter hook output priority 0; }}; "
         f"add rule inet {TABLE} output {rst_rule(dst, dport)}")
    try:
        yield
    finally:
        _nft(f"delete table inet {TABLE}")
