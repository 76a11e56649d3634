"""The topology file as pydantic models: what a lab is, with no kernel in sight.

Short forms are accepted and normalised here (``[a:eth0, b:eth0]`` for a link,
``"h1:eth0"`` for an endpoint); cross-field checks live in ``resolve``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from netlab import names

Interface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
Network = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]
Address = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]

RATE = re.compile(r"^(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$", re.I)
_RATE_UNITS = {"bit": 1, "kbit": 1e3, "mbit": 1e6, "gbit": 1e9,
               "bps": 8, "kbps": 8e3, "mbps": 8e6, "gbps": 8e9}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _interface(value: Any) -> Interface:
    if isinstance(value, (ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        return value
    text = str(value)
    if "/" not in text:
        raise ValueError(f"{text!r} needs a prefix length (e.g. 198.18.0.1/24)")
    try:
        return ipaddress.ip_interface(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an interface address (e.g. 198.18.0.1/24 or 2001:2::1/64)") from None


def _network(value: Any) -> Network:
    try:
        return ipaddress.ip_network(str(value), strict=True)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a network (e.g. 198.18.0.0/24): {exc}") from None


def _address(value: Any) -> Address:
    try:
        return ipaddress.ip_address(str(value))
    except ValueError:
        raise ValueError(f"{value!r} is not an IP address (e.g. 198.18.0.1)") from None


def _addresses(value: Any) -> Any:
    """None = assign from a pool; "none" or [] = no address; a string or a list = these."""
    if value is None or value == "auto":
        return None
    if value == "none" or value is False:
        return ()
    if isinstance(value, (str, ipaddress.IPv4Interface, ipaddress.IPv6Interface)):
        value = [value]
    return tuple(_interface(v) for v in value)


# json_schema_input_type: editors see what a user may write, not what it becomes.
IfAddress = Annotated[Interface, BeforeValidator(_interface, json_schema_input_type=str)]
IpNetwork = Annotated[Network, BeforeValidator(_network, json_schema_input_type=str)]
IpAddress = Annotated[Address, BeforeValidator(_address, json_schema_input_type=str)]
Addresses = Annotated[Union[tuple[IfAddress, ...], None],
                      BeforeValidator(_addresses, json_schema_input_type=Union[str, list[str], bool, None])]


def rate_bits(text: str) -> int:
    """Bits per second of a tc-style rate ("100mbit", "1gbit", "10mbps")."""
    m = RATE.match(text.strip())
    return int(float(m.group(1)) * _RATE_UNITS[m.group(2).lower()])


def _check_rate(value: str | None) -> str | None:
    if value is not None and not RATE.match(str(value).strip()):
        raise ValueError(f"{value!r} is not a rate (e.g. 100mbit, 1gbit, 10mbps)")
    return value


PERCENT = re.compile(r"^(\d+(?:\.\d+)?)\s*%$")
DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(us|ms|s)$")


def _check_percent(value: str | None) -> str | None:
    if value is not None:
        m = PERCENT.match(str(value).strip())
        if not m or not 0 < float(m.group(1)) <= 100:
            raise ValueError(f"{value!r} is not a loss percentage (e.g. 1%, 0.5%)")
    return value


def _check_duration(value: str | None) -> str | None:
    if value is not None and not DURATION.match(str(value).strip()):
        raise ValueError(f"{value!r} is not a delay (e.g. 10ms, 500us)")
    return value


def duration_us(text: str) -> int:
    m = DURATION.match(text.strip())
    return int(float(m.group(1)) * {"us": 1, "ms": 1000, "s": 1_000_000}[m.group(2)])


def percent(text: str) -> float:
    return float(PERCENT.match(text.strip()).group(1))


def _check_ifname(value: str) -> str:
    if len(value) > names.IFNAMSIZ:
        raise ValueError(f"interface name {value!r} has {len(value)} characters; Linux allows 15")
    if not names.IFNAME.match(value):
        raise ValueError(f"{value!r} is not an interface name (letters, digits, _ . -; e.g. eth0)")
    return value


class Endpoint(Strict):
    """One end of a link or a bridge member: a node's interface."""

    node: str
    interface: str | None = None
    address: Addresses = None
    mac: str | None = None
    mtu: int | None = Field(default=None, ge=68, le=65535)

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, str):
            node, _, ifname = value.partition(":")
            return {"node": node, "interface": ifname or None}
        if isinstance(value, dict) and "endpoint" in value:
            value = dict(value)
            node, _, ifname = str(value.pop("endpoint")).partition(":")
            return {"node": node, "interface": ifname or None, **value}
        return value

    @field_validator("interface")
    @classmethod
    def _ifname(cls, value: str | None) -> str | None:
        return None if value is None else _check_ifname(value)

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$", value):
            raise ValueError(f"{value!r} is not a MAC address (e.g. 02:00:00:00:00:01)")
        return value


class Impairments(Strict):
    """What a link does to traffic: a rate limit (tbf), random loss (an nftables
    numgen drop rule, so it works without netem), and delay (netem: refused with a
    clear message on kernels without it)."""

    rate: str | None = None
    loss: str | None = Field(default=None, description="random loss per direction, e.g. 1%")
    delay: str | None = Field(default=None, description="one-way delay per direction (needs netem), e.g. 10ms")

    _rate = field_validator("rate")(classmethod(lambda cls, v: _check_rate(v)))
    _loss = field_validator("loss")(classmethod(lambda cls, v: _check_percent(v)))
    _delay = field_validator("delay")(classmethod(lambda cls, v: _check_duration(v)))

    @model_validator(mode="after")
    def _one_root_qdisc(self):
        if self.rate and self.delay:
            raise ValueError("`rate` (tbf) and `delay` (netem) on one link are not supported together yet")
        return self


class Link(Impairments):
    """A point-to-point veth pair between two nodes."""

    endpoints: tuple[Endpoint, Endpoint]
    mtu: int | None = Field(default=None, ge=68, le=65535)
    subnet: IpNetwork | None = None
    pool: str = "p2p"

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        return {"endpoints": value} if isinstance(value, (list, tuple)) else value


class Bridge(Impairments):
    """A Linux bridge inside its owner node's namespace; each member reaches it by a veth."""

    node: str
    members: tuple[Endpoint, ...] = ()
    address: Addresses = ()
    gateway: bool = False
    subnet: IpNetwork | None = None
    pool: str = "lan"
    mtu: int | None = Field(default=None, ge=68, le=65535)
    stp: bool = False
    trunks: tuple[str, ...] = Field(default=(), description="bridges joined to this one by a veth: one LAN "
                                    "across them (a Linux bridge holds at most 1,023 ports)")

    @model_validator(mode="before")
    @classmethod
    def _gateway_needs_address(cls, value: Any) -> Any:
        if isinstance(value, dict) and value.get("gateway") and "address" not in value:
            value = {**value, "address": "auto"}
        return value


class Route(Strict):
    to: Union[Literal["default"], IpNetwork] = "default"
    via: IpAddress | None = None
    dev: str | None = None
    metric: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _needs_target(self) -> "Route":
        if self.via is None and self.dev is None:
            raise ValueError("a route needs `via` (a gateway address) or `dev` (an interface)")
        return self


class Masquerade(Strict):
    type: Literal["masquerade"]
    out: str = Field(description="interface the translated packets leave by")
    source: IpNetwork | None = None


class Snat(Strict):
    type: Literal["snat"]
    out: str
    to: IpAddress
    source: IpNetwork | None = None


class Dnat(Strict):
    type: Literal["dnat"]
    in_: str = Field(alias="in", description="interface the packets arrive on")
    port: int = Field(ge=1, le=65535)
    to: str = Field(description="address:port to forward to, e.g. 198.18.0.2:80")
    proto: Literal["tcp", "udp"] = "tcp"

    @field_validator("to")
    @classmethod
    def _target(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        try:
            ipaddress.IPv4Address(host)
            assert 1 <= int(port) <= 65535
        except (ValueError, AssertionError):
            raise ValueError(f"{value!r} is not address:port (e.g. 198.18.0.2:80)") from None
        return value

    @property
    def to_address(self) -> str:
        return self.to.rpartition(":")[0]

    @property
    def to_port(self) -> int:
        return int(self.to.rpartition(":")[2])


NatRule = Annotated[Union[Masquerade, Snat, Dnat], Field(discriminator="type")]


class NodeSpec(Strict):
    """What every node kind accepts; a kind adds its own fields by subclassing."""

    kind: str = "netns"
    forwarding: bool = False
    sysctls: dict[str, Union[str, int]] = {}
    routes: tuple[Route, ...] = ()
    nat: tuple[NatRule, ...] = ()
    exec: tuple[str, ...] = ()

    @field_validator("sysctls")
    @classmethod
    def _per_namespace(cls, value: dict) -> dict:
        # kernel.*, vm.*, fs.* are one value for the whole machine: setting them "in a
        # node" would change the real host. Global net.* keys are simply absent from a
        # child namespace's /proc/sys, so writing them fails at `up` and rolls back.
        for key in value:
            if not re.match(r"^net\.[A-Za-z0-9_.-]+$", key):
                raise ValueError(f"{key!r}: only per-namespace net.* sysctls may be set in a node "
                                 "(kernel.*, vm.*, fs.* would change the whole machine)")
        return value


class Pool(Strict):
    ipv4: IpNetwork | None = None
    prefix: int = Field(default=24, ge=8, le=32)
    ipv6: IpNetwork | None = None
    prefix6: int = Field(default=64, ge=16, le=128)


# RFC 2544 (198.18.0.0/15) and RFC 5180 (2001:2::/48) are reserved for benchmarks:
# lab traffic there can never be mistaken for, or leak to, a real network.
DEFAULT_POOLS = {
    "lan": Pool(ipv4=ipaddress.ip_network("198.18.0.0/16"), prefix=24),
    "p2p": Pool(ipv4=ipaddress.ip_network("198.19.0.0/16"), prefix=30),
}


class TopologyFile(Strict):
    """The whole file, as written (nodes validated per kind by the loader)."""

    name: str
    defaults: dict[str, Any] = {}
    pools: dict[str, Pool] = {}
    nodes: dict[str, dict[str, Any]] = Field(min_length=1)
    links: tuple[Link, ...] = ()
    bridges: dict[str, Bridge] = {}

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not names.LAB_NAME.match(value):
            raise ValueError(f"{value!r} is not a lab name (lower-case letters, digits, -; at most 32; e.g. nat-lab)")
        return value

    @field_validator("nodes")
    @classmethod
    def _node_names(cls, value: dict) -> dict:
        for node in value:
            if not names.NODE_NAME.match(str(node)):
                raise ValueError(f"{node!r} is not a node name (letters, digits, _ -; e.g. h1)")
        return {k: (v or {}) for k, v in value.items()}
