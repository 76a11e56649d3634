"""The topology file as pydantic models: what a lab is, with no kernel in sight.

Short forms are accepted and normalised here (``[a:eth0, b:eth0]`` for a link,
``"h1:eth0"`` for an endpoint); cross-field checks live in ``resolve``.
"""

from __future__ import annotations

import ipaddress
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from netlab import limits, names
from netlab.values import (Addresses, IfName, Int, Interface, IpAddress, IpNetwork, Mtu, NodeName, RouteTarget,
                           SysctlKey, SysctlValue, _check_duration, _check_mac, _check_percent, _check_rate, _text,
                           check_ifname, duration_us, percent, rate_bits)

__all__ = ["Interface", "check_ifname", "duration_us", "percent", "rate_bits"]  # for the modules that use them

class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Endpoint(Strict):
    """One end of a link or a bridge member: a node's interface."""

    node: str
    interface: IfName | None = None  # checked in pydantic-core: values.check_ifname says why not
    address: Addresses = None
    mac: str | None = None
    mtu: Mtu | None = None

    @model_validator(mode="before")
    @classmethod
    def _short(cls, value: Any) -> Any:
        if isinstance(value, str):
            node, _, ifname = value.partition(":")
            return {"node": node, "interface": ifname or None}
        if isinstance(value, dict) and "endpoint" in value:
            value = dict(value)
            text = _text(value.pop("endpoint"), "node:interface (e.g. h1:eth0)")
            node, _, ifname = text.partition(":")
            return {"node": node, "interface": ifname or None, **value}
        return value

    @field_validator("mac")
    @classmethod
    def _mac(cls, value: str | None) -> str | None:
        return None if value is None else _check_mac(value)


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
    mtu: Mtu | None = None
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
    mtu: Mtu | None = None
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
    to: RouteTarget = "default"
    via: IpAddress | None = None
    dev: str | None = None
    metric: Int | None = Field(default=None, ge=0, le=limits.ROUTE_METRIC_MAX)

    @model_validator(mode="after")
    def _needs_target(self) -> "Route":
        if self.via is None and self.dev is None:
            raise ValueError("a route needs `via` (a gateway address) or `dev` (an interface)")
        if self.via is not None and self.to != "default" and self.via.version != self.to.version:
            raise ValueError(f"an IPv{self.to.version} route ({self.to}) needs an IPv{self.to.version} gateway, "
                             f"not {self.via}")
        return self


def _ipv4_only(value: Any, field: str) -> Any:
    # the node's NAT table is nftables' `ip` family: IPv4 only (an IPv6 rule fails at `up`)
    if value is not None and value.version != 4:
        raise ValueError(f"`{field}` {value} is IPv6: netlab's NAT is IPv4 (nftables table ip)")
    return value


class Masquerade(Strict):
    type: Literal["masquerade"]
    out: str = Field(description="interface the translated packets leave by")
    source: IpNetwork | None = None

    _v4 = field_validator("source")(classmethod(lambda cls, v: _ipv4_only(v, "source")))


class Snat(Strict):
    type: Literal["snat"]
    out: str
    to: IpAddress
    source: IpNetwork | None = None

    _v4 = field_validator("source", "to")(classmethod(lambda cls, v, info: _ipv4_only(v, info.field_name)))


class Dnat(Strict):
    type: Literal["dnat"]
    in_: str = Field(alias="in", description="interface the packets arrive on")
    port: Int = Field(ge=1, le=65535)
    to: str = Field(description="address:port to forward to, e.g. 198.18.0.2:80")
    proto: Literal["tcp", "udp"] = "tcp"

    @field_validator("to")
    @classmethod
    def _target(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        try:
            ipaddress.IPv4Address(host)
            ok = port.isdigit() and 1 <= int(port) <= 65535
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{value!r} is not address:port with an IPv4 address and a port 1..65535 "
                             "(e.g. 198.18.0.2:80)")
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
    host: str | None = Field(default=None, description="the machine (one of `hosts`) the node is built on")
    forwarding: bool = False
    # a factory: pydantic deep-copies a default {} for every node (~2 µs each, 20,000 nodes)
    sysctls: dict[SysctlKey, SysctlValue] = Field(default_factory=dict, json_schema_extra={"default": {}})
    routes: tuple[Route, ...] = ()
    nat: tuple[NatRule, ...] = ()
    exec: tuple[str, ...] = ()


class Pool(Strict):
    ipv4: IpNetwork | None = None
    prefix: Int = Field(default=24, ge=8, le=32)
    ipv6: IpNetwork | None = None
    prefix6: Int = Field(default=64, ge=16, le=128)

    @model_validator(mode="after")
    def _families(self) -> "Pool":
        for field, net in (("ipv4", self.ipv4), ("ipv6", self.ipv6)):
            if net is not None and net.version != (4 if field == "ipv4" else 6):
                raise ValueError(f"`{field}` is {net}, an IPv{net.version} network")
        return self


# RFC 2544 (198.18.0.0/15) and RFC 5180 (2001:2::/48) are reserved for benchmarks:
# lab traffic there can never be mistaken for, or leak to, a real network.
DEFAULT_POOLS = {
    "lan": Pool(ipv4=ipaddress.ip_network("198.18.0.0/16"), prefix=24),
    "p2p": Pool(ipv4=ipaddress.ip_network("198.19.0.0/16"), prefix=30),
}


VXLAN_PORT = 4789  # IANA's port for VXLAN (RFC 7348); Linux's own default is 8472


class Host(Strict):
    """A machine a lab is spread over: where the other machines reach it (the underlay),
    and how netlab reaches it (ssh); without `ssh` it is the machine netlab runs on."""

    underlay: IpAddress = Field(description="the address the other hosts reach this one at (VXLAN's remote)")
    ssh: str | None = Field(default=None, description="ssh destination, e.g. root@198.18.255.2; absent: this "
                            "machine")
    vxlan_port: Int = Field(default=VXLAN_PORT, ge=1, le=65535, description="UDP port of this host's VXLAN "
                            "devices (both ends of a link use one port)")
    netlab: str = Field(default="netlab", description="the netlab command on that host (over ssh)")

    @field_validator("ssh")
    @classmethod
    def _ssh(cls, value: str | None) -> str | None:
        # the destination is one argument of ssh(1): nothing it could read as an option
        if value is not None and (not value or value.startswith("-") or any(c.isspace() for c in value)):
            raise ValueError(f"{value!r} is not an ssh destination (user@host or host, e.g. root@198.18.255.2)")
        return value


class TopologyFile(Strict):
    """The whole file, as written (nodes validated per kind by the loader)."""

    name: str
    defaults: dict[str, Any] = {}
    pools: dict[str, Pool] = {}
    nodes: dict[NodeName, Union[dict[str, Any], None]] = Field(min_length=1)
    links: tuple[Link, ...] = ()
    bridges: dict[str, Bridge] = {}
    hosts: dict[NodeName, Host] = Field(default={}, description="machines the lab is spread over (absent: "
                                        "this one); a link between nodes on two hosts is a VXLAN tunnel")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not names.LAB_NAME.match(value):
            raise ValueError(f"{value!r} is not a lab name (lower-case letters, digits, -; at most 32; e.g. nat-lab)")
        return value
