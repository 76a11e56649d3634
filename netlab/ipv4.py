"""IPv4 interfaces and networks made the fast way: what ``ipaddress`` makes, with the
attributes set directly, used only where this Python's ipaddress and this C library's
inet_pton are checked at import to give exactly what the constructors give
(tests/unit/test_values.py holds them to it). A generated file has 40,000 addresses.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

_PREFIX_LENGTHS = {str(plen): plen for plen in range(33)}  # "0".."32", as ipaddress writes them


def _strict_pton() -> bool:
    """Whether this C library's inet_pton reads only what ipaddress reads as an IPv4
    address (glibc's does: four decimal numbers 0..255, no leading zero)."""
    for text, ok in (("198.18.0.1", True), ("0.0.0.0", True), ("255.255.255.255", True), ("01.2.3.4", False),
                     ("1.2.3", False), ("0x1.2.3.4", False), ("256.1.1.1", False), (" 1.2.3.4", False),
                     ("1.2.3.4 ", False), ("1.2.3.4.5", False), ("1.2.3.", False), ("1..2.3", False)):
        try:
            socket.inet_pton(socket.AF_INET, text)
            read = True
        except OSError:
            read = False
        if read != ok:
            return False
    return True


_NETWORKS: dict[tuple[int, int], ipaddress.IPv4Network] = {}  # the two ends of a /30 share their network


def _shared(key: tuple[int, int]) -> ipaddress.IPv4Network:
    """The network ``key`` (address, prefix length), one object for every interface on it."""
    network = _NETWORKS.get(key)
    if network is None:
        if len(_NETWORKS) >= 1 << 16:
            _NETWORKS.clear()
        network = _NETWORKS[key] = _network(*key)
    return network


def _made(ip: int, plen: int) -> ipaddress.IPv4Interface:
    """``IPv4Interface((ip, plen))`` with its attributes set directly, and its network shared
    with other interfaces on it: the constructor parses its argument again and builds two
    addresses and a network, ~10 µs, a third of checking 20,000 links. It is used only if
    it makes what the constructor makes (checked below, and by tests/unit/test_values.py).
    Attributes are set one by one, as the constructor does: an instance's own dict (an
    update of ``__dict__``) took more memory and ~7 ms more for 40,000."""
    made = _new(_INTERFACE)
    made._ip = ip
    made.network = _shared((ip & _MASKS[plen], plen))
    made.netmask = _NETMASKS[plen]
    made._prefixlen = plen
    return made


_MASKS = [(0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF for plen in range(33)]
_INTERFACE, _new = ipaddress.IPv4Interface, object.__new__
_ADDRESS, _NETWORK = ipaddress.IPv4Address, ipaddress.IPv4Network
_NETMASKS = [ipaddress.IPv4Network((0, plen)).netmask for plen in range(33)]  # the constructor's own, shared


def _network(ip: int, plen: int) -> ipaddress.IPv4Network:
    """``IPv4Network((ip, plen))`` for a network address ``ip``, its attributes set directly:
    the constructor (~2 µs) was a fifth of checking a file with 20,000 /30s. A /31 or /32
    is left to it (it gives those a ``hosts`` of their own)."""
    if plen >= 31:
        return ipaddress.IPv4Network((ip, plen))
    address = _new(_ADDRESS)
    address._ip = ip
    made = _new(_NETWORK)
    made.network_address = address
    made.netmask = _NETMASKS[plen]
    made._prefixlen = plen
    return made


def _same_as_constructor(make: Any) -> bool:
    try:
        for ip, plen in ((0xC6120001, 30), (0xC6120001, 32), (0xC6120001, 31), (0, 0), (0xFFFFFFFF, 8),
                         (0xC6120001, 24)):
            mine, theirs = make(ip, plen), ipaddress.IPv4Interface((ip, plen))
            if (mine != theirs or vars(mine) != vars(theirs) or hash(mine) != hash(theirs)
                    or str(mine) != str(theirs) or mine.ip != theirs.ip
                    or vars(mine.network).keys() != vars(theirs.network).keys() or hash(mine.network) != hash(
                        theirs.network) or mine.network.netmask is not theirs.network.netmask
                    or mine.netmask is not theirs.netmask):
                return False
        return True
    except Exception:  # another Python's ipaddress, built differently
        return False


_FAST = _same_as_constructor(_made)
interface = _made if _FAST else lambda ip, plen: ipaddress.IPv4Interface((ip, plen))
_PTON = socket.inet_pton if _FAST and _strict_pton() else None
_AF_INET, _FROM_BYTES = socket.AF_INET, int.from_bytes


def read(text: str) -> ipaddress.IPv4Interface | None:
    """``198.18.0.1/30`` read without a regex (inet_pton checks the address in C) and made
    the fast way (``_made``, checked at import); None for anything else, and for everything where the
    fast way is not this Python's (netlab.values then reads it with ipaddress)."""
    address, _, plen = text.partition("/")
    length = _PREFIX_LENGTHS.get(plen)
    if length is None or _PTON is None:
        return None
    try:
        ip = _FROM_BYTES(_PTON(_AF_INET, address), "big")
    except (OSError, ValueError):  # not an IPv4 address; ValueError: a NUL in the text
        return None
    return _made(ip, length)
