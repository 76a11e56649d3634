"""The values a topology holds, one at a time: addresses, networks, rates, loss,
delays, interface names, MAC addresses, sysctl names. Each parser takes whatever
the file or the caller gave (any type) and answers with the value or a
ValueError that says what is accepted: pydantic reports ValueErrors as problems,
while anything else (a TypeError from ``str(5)[0]``) would escape as a traceback.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, Union

from pydantic import AfterValidator, BeforeValidator, Field, PlainValidator, StringConstraints, WithJsonSchema

from netlab import ipv4, limits, names

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
v4_interface = ipv4.interface  # for netlab.addressing


def _interface(value: Any) -> Interface:
    if type(value) is str:  # the common case, first
        made = ipv4.read(value)
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
        return (_interface(value),)
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
    """``pattern`` (``^…\\Z``: a name ending in a newline is no name) in Rust's regex, whose
    ``$`` is the end of the text."""
    assert pattern.pattern.startswith("^") and pattern.pattern.endswith(r"\Z") and not pattern.flags & re.MULTILINE
    return pattern.pattern[:-2] + "$"


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
_IFNAME_CORE = f"^{_none_of(limits.RESERVED_IFNAMES, _IFNAME_FIRST, _IFNAME_REST, names.IFNAMSIZ)}$"


# a pattern checked in pydantic-core → the check whose message says why a value fails it
_EXPLAINED: dict[str, Callable[[str], str]] = {}
EXPLAINED: Mapping[str, Callable[[str], str]] = MappingProxyType(_EXPLAINED)

NodeName = _in_core(_as_match(names.NODE_NAME), _node_name)
IfName = _in_core(_IFNAME_CORE, check_ifname)
SysctlKey = Annotated[str, AfterValidator(_sysctl_key)]
SysctlValue = Annotated[Union[str, Int], AfterValidator(_sysctl_value)]
