"""scapy inside a node's namespace.

scapy reads interfaces and routes when it is imported and caches them; a
process that moved into a namespace (``netns.setns_path``) must therefore
reload both before it opens a socket, or it would send through the interfaces
of the namespace it came from.
"""

from __future__ import annotations

import logging


def scapy_here():
    """scapy's ``conf`` with interfaces and routes read from the current namespace."""
    logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
    logging.getLogger("scapy").setLevel(logging.ERROR)
    import scapy.all  # noqa: F401  (loads the layers and the Linux arch support)
    from scapy.config import conf

    conf.ifaces.reload()
    conf.route.resync()
    if getattr(conf, "route6", None) is not None:
        conf.route6.resync()
    conf.verb = 0
    return conf


def iface_for(dst: str) -> str:
    """The interface the current namespace routes ``dst`` through."""
    conf = scapy_here()
    return conf.route.route(dst)[0]
