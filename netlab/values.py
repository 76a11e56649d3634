"""The values a topology holds, one at a time: addresses, networks, rates, loss,
delays, interface names, MAC addresses, sysctl names. Each parser takes whatever
the file or the caller gave (any type) and answers with the value or a
ValueError that says what is accepted: pydantic reports ValueErrors as problems,
while anything else (a TypeError from ``str(5)[0]``) would escape as a traceback.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, StringConstraints, WithJsonSchema

from netlab import limits, names

Interface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$", re.I)
_RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9,
               "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}


def _what(value: Any) -> str:
    """A wrong value in words, for messages (the same words as netlab.problems.describe)."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, (list, tuple)):
        return f"a list of {len(value)}"
    return "a mapping" if isinstance(value, dict) else f"a {type(value).__name__}"


def _text(value: Any, what: str) -> str:
    """``value`` if it is text; else a ValueError saying what was expected (not a TypeError:
    pydantic reports ValueErrors as problems, anything else escapes as a traceback)."""
    if not isinstance(value, str):
        raise ValueError(f"should be {what}, not {_what(value)}")
    return value


_V4_LOOSE = re.compile(r"([0-9]+(?:\.[0-9]+){3})/([0-9]+)")
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


_V4_NETWORKS: dict[tuple[int, int], ipaddress.IPv4Network] = {}  # the two ends of a /30 share their network


def _v4_shared(key: tuple[int, int]) -> ipaddress.IPv4Network:
    """The network ``key`` (address, prefix length), one object for every interface on it."""
    network = _V4_NETWORKS.get(key)
    if network is None:
        if len(_V4_NETWORKS) >= 1 << 16:
            _V4_NETWORKS.clear()
        network = _V4_NETWORKS[key] = _v4_network(*key)
    return network


def _v4_interface_made(ip: int, plen: int) -> ipaddress.IPv4Interface:
    """``IPv4Interface((ip, plen))`` with its attributes set directly, and its network shared
    with other interfaces on it: the constructor parses its argument again and builds two
    addresses and a network, ~10 µs, a third of checking 20,000 links. It is used only if
    it makes what the constructor makes (checked below, and by tests/unit/test_values.py).
    Attributes are set one by one, as the constructor does: an instance's own dict (an
    update of ``__dict__``) took more memory and ~7 ms more for 40,000."""
    made = _new(_V4_INTERFACE_TYPE)
    made._ip = ip
    made.network = _v4_shared((ip & _V4_MASKS[plen], plen))
    made.netmask = _NETMASKS[plen]
    made._prefixlen = plen
    return made


_V4_MASKS = [(0xFFFFFFFF << (32 - plen)) & 0xFFFFFFFF for plen in range(33)]
_V4_INTERFACE_TYPE, _new = ipaddress.IPv4Interface, object.__new__
_V4_ADDRESS_TYPE, _V4_NETWORK_TYPE = ipaddress.IPv4Address, ipaddress.IPv4Network
_NETMASKS = [ipaddress.IPv4Network((0, plen)).netmask for plen in range(33)]  # the constructor's own, shared


def _v4_network(ip: int, plen: int) -> ipaddress.IPv4Network:
    """``IPv4Network((ip, plen))`` for a network address ``ip``, its attributes set directly:
    the constructor (~2 µs) was a fifth of checking a file with 20,000 /30s. A /31 or /32
    is left to it (it gives those a ``hosts`` of their own)."""
    if plen >= 31:
        return ipaddress.IPv4Network((ip, plen))
    address = _new(_V4_ADDRESS_TYPE)
    address._ip = ip
    made = _new(_V4_NETWORK_TYPE)
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


_FAST = _same_as_constructor(_v4_interface_made)
v4_interface = _v4_interface_made if _FAST else lambda ip, plen: ipaddress.IPv4Interface((ip, plen))
_PTON = socket.inet_pton if _FAST and _strict_pton() else None
_AF_INET, _FROM_BYTES = socket.AF_INET, int.from_bytes


def _v4_quick(text: str) -> ipaddress.IPv4Interface | None:
    """``198.18.0.1/30`` read without a regex (inet_pton checks the address in C) and made
    the fast way in this one call, or None for anything else (read by ipaddress, as every
    value is where the fast way is not this Python's): a generated file has 40,000 of these."""
    address, _, plen = text.partition("/")
    length = _PREFIX_LENGTHS.get(plen)
    if length is None or _PTON is None:
        return None
    try:
        ip = _FROM_BYTES(_PTON(_AF_INET, address), "big")
    except (OSError, ValueError):  # not an IPv4 address; ValueError: a NUL in the text
        return None
    key = (ip & _V4_MASKS[length], length)
    made = _new(_V4_INTERFACE_TYPE)
    made._ip = ip
    made.network = _V4_NETWORKS.get(key) or _v4_shared(key)
    made.netmask = _NETMASKS[length]
    made._prefixlen = length
    return made


def _interface(value: Any) -> Interface:
    if type(value) is str:  # the common case, first
        made = _v4_quick(value)
        if made is not None:
            return made
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value
    text = _text(value, "an address with a prefix length (e.g. 198.18.0.1/24)")
    if "/" not in text:
        raise ValueError(f"{text!r} needs a prefix length (e.g. 198.18.0.1/24)")
    wrong = _V4_LOOSE.fullmatch(text)
    if wrong:  # IPv4 out of range: said at once (ip_interface's tries took ~25 µs, a generated file has 40,000)
        if len(wrong[2].lstrip("0")) > 2 or int(wrong[2]) > 32:
            raise ValueError(f"{text!r}: an IPv4 prefix length is 0..32")
        if any(len(octet) > 3 or int(octet) > 255 for octet in wrong[1].split(".")):
            raise ValueError(f"{text!r}: each number of an IPv4 address is 0..255")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an interface address (e.g. 198.18.0.1/24 or 2001:2::1/64)") from None


def _network(value: Any) -> Network:
    if isinstance(value, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
        return value
    _text(value, "a network (e.g. 198.18.0.0/24)")
    try:
        return ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network (e.g. 198.18.0.0/24): {exc}") from None


def _address(value: Any) -> Address:
    if isinstance(value, (ipaddress.IPv4Address, ipaddress.IPv6Address)):
        return value
    _text(value, "an IP address (e.g. 198.18.0.1)")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (e.g. 198.18.0.1)") from None


_ADDRESS_WORDS = {"auto", "none"}


def _addresses(value: Any) -> Any:
    """None = assign from a pool; "none" or [] = no address; a string or a list = these."""
    if type(value) is str and value not in _ADDRESS_WORDS:  # the common case: one address
        return (_v4_quick(value) or _interface(value),)
    if value is None or value == "auto":
        return None
    if value == "none" or value is False:
        return ()
    if isinstance(value, (str, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        value = [value]
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"should be an address (e.g. 198.18.0.1/24), a list of them, auto or none, "
                         f"not {_what(value)}")
    return tuple(_interface(v) for v in value)


def _whole(value: Any) -> Any:
    """No booleans where a number is meant: pydantic would read `mtu: true` as 1."""
    if isinstance(value, bool):
        raise ValueError(f"should be a whole number, not {_what(value)}")
    return value


def _route_target(value: Any) -> Any:
    return value if value == "default" else _network(value)


# json_schema_input_type: editors see what a user may write, not what it becomes.
IpNetwork = Annotated[Network, BeforeValidator(_network, json_schema_input_type=str)]
IpAddress = Annotated[Address, BeforeValidator(_address, json_schema_input_type=str)]
# PlainValidator: _addresses makes each interface itself; pydantic checking the tuple it
# made again, item by item, was ~10% of validating 20,000 links
Addresses = Annotated[Union[tuple[Interface, ...], None],
                      PlainValidator(_addresses, json_schema_input_type=Union[str, list[str], bool, None])]
Int = Annotated[int, BeforeValidator(_whole, json_schema_input_type=int)]
_MTU_WORDS = f"bytes, {limits.MTU_MIN}..{limits.MTU_MAX} (veth and bridge)"
# The bounds first, on the int itself: pydantic checks them inside pydantic-core. Put on
# Int, after its BeforeValidator, they were two Python calls for each of 20,000 links. The
# schema is the one editors saw before (pydantic wrote the bounds as ge and le then).
Mtu = Annotated[int, Field(ge=limits.MTU_MIN, le=limits.MTU_MAX), BeforeValidator(_whole),
                WithJsonSchema({"description": _MTU_WORDS, "ge": limits.MTU_MIN, "le": limits.MTU_MAX,
                                "type": "integer"})]
RouteTarget = Annotated[Union[Literal["default"], Network],
                        BeforeValidator(_route_target, json_schema_input_type=str)]


def rate_bits(text: str) -> int:
    """Bits per second of a tc-style rate ("100mbit", "1gbit", "10mbps")."""
    m = RATE.match(text.strip())
    return int(float(m.group(1)) * _RATE_UNITS[m.group(2).lower()])


def _check_rate(value: str | None) -> str | None:
    if value is None:
        return value
    if not RATE.match(value.strip()):
        raise ValueError(f"{value!r} is not a rate (e.g. 100mbit, 1gbit, 10mbps)")
    why = limits.rate_problem(rate_bits(value), value)
    if why:
        raise ValueError(why)
    return value


PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s)$")


def _check_percent(value: str | None) -> str | None:
    if value is not None:
        m = PERCENT.match(value.strip())
        if not m or not 0 < float(m.group(1)) <= 100:
            raise ValueError(f"{value!r} is not a loss percentage (e.g. 1%, 0.5%)")
        if float(m.group(1)) < limits.LOSS_STEP_PERCENT:
            raise ValueError(f"{value!r} is less than netlab's smallest loss step ({limits.LOSS_STEP_PERCENT:g}%: "
                             "one packet in a million)")
    return value


def _check_duration(value: str | None) -> str | None:
    if value is None:
        return value
    if not DURATION.match(value.strip()):
        raise ValueError(f"{value!r} is not a delay (e.g. 10ms, 500us)")
    if duration_us(value) > limits.DELAY_MAX_US:
        raise ValueError(f"{value!r} is more than netem takes ({limits.DELAY_MAX_US // 1_000_000} s)")
    return value


def duration_us(text: str) -> int:
    m = DURATION.match(text.strip())
    return int(float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1_000_000}[m.group(2)])


def percent(text: str) -> float:
    return float(PERCENT.match(text.strip()).group(1))


def check_ifname(value: str) -> str:
    if len(value) > names.IFNAMSIZ:
        raise ValueError(f"interface name {value!r} has {len(value)} characters; Linux allows 15")
    if not names.IFNAME.match(value):
        raise ValueError(f"{value!r} is not an interface name (letters, digits, _ . -; e.g. eth0)")
    if value in limits.RESERVED_IFNAMES:
        raise ValueError(f"{value!r} cannot be an interface netlab makes: {limits.RESERVED_IFNAMES[value]}")
    return value


MAC = re.compile(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$")


def _check_mac(value: str) -> str:
    if not MAC.match(value):
        raise ValueError(f"{value!r} is not a MAC address (e.g. 02:00:00:00:00:01)")
    first = int(value[:2], 16)
    # the kernel refuses these for an interface (is_valid_ether_addr): EADDRNOTAVAIL
    if first & 1:
        raise ValueError(f"{value!r} is a multicast MAC address (the first byte is odd); an interface needs a "
                         "unicast one (e.g. 02:00:00:00:00:01)")
    if int(value.replace(":", ""), 16) == 0:
        raise ValueError(f"{value!r} is the all-zero MAC address; an interface needs another (e.g. 02:00:00:00:00:01)")
    return value


SYSCTL = re.compile(r"^net(\.[A-Za-z0-9_-]+)+$")
SYSCTL_VALUE = re.compile(r"^[^\x00-\x1f\x7f]*$")  # one line: no newline, tab or other control character


def _node_name(value: str) -> str:
    if not names.NODE_NAME.match(value):
        raise ValueError(f"{value!r} is not a node name (letters, digits, _ -; at most 32; e.g. h1)")
    return value


def _sysctl_key(key: str) -> str:
    # kernel.*, vm.*, fs.* are one value for the whole machine: setting them "in a
    # node" would change the real host. Global net.* keys are absent from a child
    # namespace's /proc/sys: `up` finds those before any change (netlab.preflight).
    if not key.startswith("net."):
        raise ValueError(f"{key!r}: only per-namespace net.* sysctls may be set in a node "
                         "(kernel.*, vm.*, fs.* would change the whole machine)")
    if not SYSCTL.match(key):
        raise ValueError(f"{key!r} is not a sysctl name (dotted words, e.g. net.ipv4.tcp_syncookies)")
    return key


def _sysctl_value(value: Any) -> Any:
    if isinstance(value, str) and not SYSCTL_VALUE.match(value):
        raise ValueError(f"{value!r} is not a sysctl value (one line of text, or a number)")
    return value


def _in_core(core: str, check: Callable[[str], str]) -> Any:
    """Text that ``core`` (a pattern in Rust's regex syntax) matches, checked inside
    pydantic-core: no Python call per value (a generated file has 20,000 node names and
    40,000 interface names). What the pattern refuses, ``check`` says why (netlab.problems
    asks ``EXPLAINED``), as it did when it was the check: tests/unit/test_values.py holds
    the two to one answer."""
    _EXPLAINED[core] = check
    return Annotated[str, StringConstraints(pattern=core), WithJsonSchema({"type": "string"})]


def _as_match(pattern: re.Pattern) -> str:
    """``pattern`` as ``re.match`` reads it, for Rust's regex: Python's ``$`` also matches
    before a last newline (so `h1\\n` is a node name, as it was)."""
    assert pattern.pattern.startswith("^") and pattern.pattern.endswith("$") and not pattern.flags & re.MULTILINE
    return pattern.pattern[:-1] + r"\n?$"


def _none_of(words: Any, first: str, rest: str, most: int, prefix: str = "") -> str:
    """A pattern (Rust's regex, which has no look-ahead) for a ``first`` character and then
    ``rest`` ones, at most ``most`` in all, that is none of ``words``: after each ``prefix``
    of a word, another character, or the word's next one, or (unless ``prefix`` is a word)
    the end."""
    depth = len(prefix)
    kind = first if depth == 0 else rest
    following = sorted({w[depth] for w in words if w.startswith(prefix) and len(w) > depth})
    other = f"[{kind}--[{''.join(following)}]]" if following else f"[{kind}]"
    ways = [f"{other}[{rest}]{{0,{most - depth - 1}}}"] if depth < most else []
    ways += [re.escape(c) + _none_of(words, first, rest, most, prefix + c) for c in following]
    body = "(?:" + "|".join(ways) + ")"
    return body + "?" if depth and prefix not in words else body


# names.IFNAME's characters; at most names.IFNAMSIZ; and not a name netlab may not make
_IFNAME_FIRST, _IFNAME_REST = r"A-Za-z0-9_", r"A-Za-z0-9_.\-"
_IFNAME_CORE = (f"^(?:{_none_of(limits.RESERVED_IFNAMES, _IFNAME_FIRST, _IFNAME_REST, names.IFNAMSIZ)}"
                rf"|[{_IFNAME_FIRST}][{_IFNAME_REST}]{{0,{names.IFNAMSIZ - 2}}}\n)$")  # re.match's $: see _as_match


# a pattern checked in pydantic-core → the check whose message says why a value fails it
_EXPLAINED: dict[str, Callable[[str], str]] = {}
EXPLAINED: Mapping[str, Callable[[str], str]] = MappingProxyType(_EXPLAINED)

NodeName = _in_core(_as_match(names.NODE_NAME), _node_name)
IfName = _in_core(_IFNAME_CORE, check_ifname)
SysctlKey = Annotated[str, AfterValidator(_sysctl_key)]
SysctlValue = Annotated[Union[str, Int], AfterValidator(_sysctl_value)]
