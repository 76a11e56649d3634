"""Pipelined rtnetlink: many requests per system call, answers read afterwards.

This is the kernel backend's fast path for the ops a large lab repeats once per
node (namespace mark, veth, link up, address, route, tbf). The messages are
pyroute2's own (``ifinfmsg``, ``ifaddrmsg``, ``rtmsg``, ``tcmsg``), encoded by
it, and the answers are parsed by its ``Marshal`` (acks and errors as
``nlmsgerr``, with the kernel's extended-ack text). What is not pyroute2's is
the socket: IPRoute waits for each answer before the next request and sets up
an asyncio endpoint per namespace (0.3–1.4 ms a request, several ms a
namespace), where a ``Channel`` is one socket and sends up to 64 messages per
system call. Encoding a message with pyroute2 costs 25–60 µs (a veth 135 µs,
a tbf with its rate table 180 µs) where ``struct`` took 1–7 µs, and parsing an
ack 7 µs: a 1,000-node `up` pays ~0.6 s for it and still comes up in under 3 s
(docs/bench-deploy.md), so nothing here is packed by hand any more.

The kernel runs every message of a ``send`` in order, in that system call, and
queues one answer per message (NLM_F_ACK): a failed message does not stop the
ones after it, so a caller undoes the whole chunk it sent, as the executor does
with a batch.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from pyroute2.netlink import (
    NETLINK_EXT_ACK,
    NETLINK_ROUTE,
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_EXCL,
    NLM_F_REPLACE,
    NLM_F_REQUEST,
    NLMSG_ERROR,
    SOL_NETLINK,
    nlmsg,
)
from pyroute2.netlink.marshal import Marshal
from pyroute2.netlink.rtnl import (
    RTM_DELLINK,
    RTM_GETLINK,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWQDISC,
    RTM_NEWROUTE,
    TC_H_ROOT,
    rt_proto,
    rt_scope,
    rt_type,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from pyroute2.netlink.rtnl.tcmsg import sched_tbf, tcmsg

# No pyroute2 names for these two (linux/rtnetlink.h; kernel ABI, never change).
RT_TABLE_MAIN = 254
RTEXT_FILTER_SKIP_STATS = 1 << 3

_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
_CHANGE = NLM_F_REQUEST | NLM_F_ACK

# A chunk is what one send() carries: small enough for the socket buffers
# (the kernel refuses a message over sk_sndbuf) and for the answers to queue.
CHUNK_MESSAGES = 64
CHUNK_BYTES = 32 * 1024
RCVBUF = 1 << 20


# -- requests ------------------------------------------------------------------
@dataclass(frozen=True)
class Request:
    """One rtnetlink message to send, as the pyroute2 message it becomes: class,
    header type and flags, fields and attributes in pyroute2's notation.

    The message object is made and encoded only when the channel sends it: a
    pyroute2 message is a cycle of objects (its ``chain`` holds itself), and
    with thousands alive across a batch the cyclic garbage collector took
    0.35 s of a 1,000-node `up`; made at send time they die young (0.15 s)."""

    cls: type[nlmsg]
    type: int
    flags: int
    attrs: list
    fields: dict = field(default_factory=dict)
    fds: tuple[int, ...] = ()  # namespace fds the message names; closed once sent

    def message(self, seq: int = 0) -> nlmsg:
        """The pyroute2 message, not yet encoded, numbered ``seq``."""
        msg = self.cls()
        msg["header"].update(type=self.type, flags=self.flags, sequence_number=seq)
        msg.update(self.fields)
        msg["attrs"] = list(self.attrs)  # encode() puts its objects in this list: not in ours
        return msg

    def wire(self, seq: int) -> bytes:
        """The bytes pyroute2 encodes for this request, numbered ``seq``.

        A lab sends the same message to many namespaces (`ip link set eth0 up`,
        GETLINK eth0 into every host: 2,000 of 6,000 for a 1,000-host star), and
        pyroute2 takes 25–40 µs to encode one: a request without fds is encoded once
        and later copies only get their sequence number (nlmsghdr's third field)."""
        if self.fds:  # fd numbers are reused once closed: never cache a message naming one
            return _encode(self, seq)
        key = (self.cls, self.type, self.flags, repr(self.attrs), repr(self.fields))
        done = _ENCODED.get(key)
        if done is None:
            if len(_ENCODED) >= _ENCODED_MAX:
                _ENCODED.clear()
            done = _ENCODED[key] = _encode(self, 0)
        wire = bytearray(done)
        _SEQ.pack_into(wire, _SEQ_OFFSET, seq)
        return wire


_ENCODED: dict[tuple, bytes] = {}
_ENCODED_MAX = 4096
_SEQ, _SEQ_OFFSET = struct.Struct("=I"), 8  # struct nlmsghdr {u32 len; u16 type, flags; u32 seq; u32 pid}


def _encode(req: Request, seq: int) -> bytes:
    msg = req.message(seq)
    msg.encode()
    return bytes(msg.data)


def _link_attrs(name: str, alias: str | None = None, mac: str | None = None, mtu: int | None = None,
                ns_fd: int | None = None) -> list:
    attrs: list = [["IFLA_IFNAME", name]]
    if alias:
        attrs.append(["IFLA_IFALIAS", alias])
    if mac:
        attrs.append(["IFLA_ADDRESS", mac])
    if mtu:
        attrs.append(["IFLA_MTU", mtu])
    if ns_fd is not None:
        attrs.append(["IFLA_NET_NS_FD", ns_fd])
    return attrs


# A veth is allocated with a queue per possible CPU, and without IFLA_NUM_*_QUEUES the
# kernel then cuts each end to one real queue (veth_init_queues), which waits for an
# expedited RCU grace period under RTNL (netif_set_real_num_tx_queues → synchronize_net):
# a quarter of the waits of a 1,000-host star's `up`. Asking for one queue of each at
# creation gives the same device (one real queue) without the wait; what it gives up is
# raising the count later (`ethtool -L`), which no lab does.
_ONE_QUEUE = [["IFLA_NUM_TX_QUEUES", 1], ["IFLA_NUM_RX_QUEUES", 1]]


def new_veth(name: str, alias: str, ns_fd: int, peer_name: str, peer_alias: str, peer_fd: int,
             mac: str | None = None, mtu: int | None = None, peer_mac: str | None = None,
             peer_mtu: int | None = None, master: int | None = None, up: bool = False) -> Request:
    """`ip link add NAME netns A [master M] [up] type veth peer name PEER netns B`: both
    ends made in their namespaces at once, so neither ever holds a name in the sender's.

    Only NAME can come up (and be enslaved, M an index in A) in this message: the kernel
    configures the peer before the pair is joined, and opening it then fails (ENOTCONN)."""
    peer = {"attrs": _link_attrs(peer_name, peer_alias, peer_mac, peer_mtu, peer_fd) + _ONE_QUEUE}
    info = {"attrs": [["IFLA_INFO_KIND", "veth"], ["IFLA_INFO_DATA", {"attrs": [["VETH_INFO_PEER", peer]]}]]}
    attrs = _link_attrs(name, alias, mac, mtu, ns_fd) + _ONE_QUEUE + [["IFLA_LINKINFO", info]]
    if master is not None:
        attrs.append(["IFLA_MASTER", master])
    fields = {"flags": IFF_UP, "change": IFF_UP} if up else {}
    return Request(ifinfmsg, RTM_NEWLINK, _CREATE, attrs, fields, fds=(ns_fd, peer_fd))


def new_vxlan(name: str, alias: str, ns_fd: int, vni: int, local: str, remote: str, port: int,
              mac: str | None = None, mtu: int | None = None) -> Request:
    """`ip link add NAME netns NS type vxlan id VNI local L remote R dstport P`: made from
    the sender's namespace, whose underlay the tunnel's UDP socket stays on, and placed
    straight into the node's."""
    six = ":" in remote
    data = [["IFLA_VXLAN_ID", vni], ["IFLA_VXLAN_GROUP6" if six else "IFLA_VXLAN_GROUP", remote],
            ["IFLA_VXLAN_LOCAL6" if six else "IFLA_VXLAN_LOCAL", local], ["IFLA_VXLAN_PORT", port],
            ["IFLA_VXLAN_LEARNING", 0]]  # one remote: nothing to learn
    info = {"attrs": [["IFLA_INFO_KIND", "vxlan"], ["IFLA_INFO_DATA", {"attrs": data}]]}
    attrs = _link_attrs(name, alias, mac, mtu, ns_fd) + [["IFLA_LINKINFO", info]]
    return Request(ifinfmsg, RTM_NEWLINK, _CREATE, attrs, fds=(ns_fd,))


def new_bridge(name: str, alias: str, mtu: int | None = None, stp: bool = False) -> Request:
    """`ip link add NAME type bridge stp_state 0|1`."""
    info = {"attrs": [["IFLA_INFO_KIND", "bridge"], ["IFLA_INFO_DATA", {"attrs": [["IFLA_BR_STP_STATE", int(stp)]]}]]}
    attrs = _link_attrs(name, alias, None, mtu) + [["IFLA_LINKINFO", info]]
    return Request(ifinfmsg, RTM_NEWLINK, _CREATE, attrs)


def set_link(name: str, up: bool | None = None, master: int | None = None, alias: str | None = None) -> Request:
    """`ip link set NAME [master M] [alias A] [up|down]`, the device found by name."""
    flags, change = (0, 0) if up is None else (IFF_UP if up else 0, IFF_UP)
    attrs: list = [["IFLA_IFNAME", name]]
    if master is not None:
        attrs.append(["IFLA_MASTER", master])
    if alias:
        attrs.append(["IFLA_IFALIAS", alias])
    return Request(ifinfmsg, RTM_NEWLINK, _CHANGE, attrs, {"flags": flags, "change": change})


def del_link(name: str) -> Request:
    """`ip link del NAME` (a veth takes its peer with it)."""
    return Request(ifinfmsg, RTM_DELLINK, _CHANGE, [["IFLA_IFNAME", name]])


def get_link(name: str) -> Request:
    """Ask for one link by name (the answer carries its index)."""
    attrs = [["IFLA_IFNAME", name], ["IFLA_EXT_MASK", RTEXT_FILTER_SKIP_STATS]]
    return Request(ifinfmsg, RTM_GETLINK, NLM_F_REQUEST, attrs)


def new_addr(index: int, address: str) -> Request:
    """`ip addr add ADDRESS dev INDEX` (IPv4 or IPv6, with its prefix length)."""
    iface = ipaddress.ip_interface(address)
    family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    ip = str(iface.ip)
    return Request(ifaddrmsg, RTM_NEWADDR, _CREATE, [["IFA_LOCAL", ip], ["IFA_ADDRESS", ip]],
                   {"family": family, "prefixlen": iface.network.prefixlen, "index": index})


def new_route(to: str, via: str | None = None, oif: int | None = None, metric: int | None = None) -> Request:
    """`ip route add TO [via GW] [dev OIF] [metric M]` in the main table, as pyroute2 and ip(8) make it."""
    if to == "default":
        net = ipaddress.ip_network("::/0" if via and ":" in via else "0.0.0.0/0")
    else:
        net = ipaddress.ip_network(to, strict=False)
    attrs: list = []
    if net.prefixlen:
        attrs.append(["RTA_DST", str(net.network_address)])
    if via:
        attrs.append(["RTA_GATEWAY", via])
    if oif is not None:
        attrs.append(["RTA_OIF", oif])
    if metric is not None:
        attrs.append(["RTA_PRIORITY", metric])
    attrs.append(["RTA_TABLE", RT_TABLE_MAIN])
    return Request(rtmsg, RTM_NEWROUTE, _CREATE, attrs,
                   {"family": socket.AF_INET if net.version == 4 else socket.AF_INET6, "dst_len": net.prefixlen,
                    "table": RT_TABLE_MAIN, "proto": rt_proto["static"],
                    "scope": rt_scope["universe" if via else "link"], "type": rt_type["unicast"]})


def tbf_options(rate: str) -> dict:
    """TCA_OPTIONS of `tc qdisc replace ... tbf rate RATE`, by pyroute2's tc classes
    (the tbf rate table is theirs to get right); the same for every device of a rate."""
    from netlab.backend.tc import tbf_params

    return sched_tbf.get_parameters(dict(tbf_params(rate)))


def replace_qdisc(index: int, kind: str, options: dict) -> Request:
    """`tc qdisc replace dev INDEX root handle 1: KIND OPTIONS`."""
    attrs = [["TCA_KIND", kind], ["TCA_OPTIONS", options]]
    return Request(tcmsg, RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, attrs,
                   {"index": index, "handle": 0x10000, "parent": TC_H_ROOT})


# -- answers ---------------------------------------------------------------------
class ifinfhead(ifinfmsg):
    """An RTM_NEWLINK answer's fixed part only (index, flags): its ~1 KB of
    attributes are not needed here and would cost ~80 µs more to decode."""

    nla_map = ()


class Answers(Marshal):
    """pyroute2's parser for what the fast path gets back: acks and errors (as
    ``nlmsgerr``, the kernel's extended-ack text included) and GETLINK answers."""

    msg_map: ClassVar[dict] = {RTM_NEWLINK: ifinfhead}


# -- the socket ---------------------------------------------------------------
class Channel:
    """One NETLINK_ROUTE socket, bound inside one namespace for its whole life.

    A plain socket, not pyroute2's: its sockets wait for each answer before the
    next request (see the module's docstring)."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        # extended acks, uncapped (as IPRoute asks for them): pyroute2's nlmsgerr
        # finds the error text after the echo of the failed request
        self.sock.setsockopt(SOL_NETLINK, NETLINK_EXT_ACK, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.bind((0, 0))
        self._seq = 0
        self._buf = bytearray(1 << 16)
        self._parser = Answers()

    def close(self) -> None:
        self.sock.close()

    def exchange(self, requests: Sequence[Request]) -> list[OSError | nlmsg | None]:
        """Send every request, in chunks of many per system call; return each one's
        outcome, in order: None (done), the decoded answer (a GET), or an OSError."""
        out: list[OSError | nlmsg | None] = []
        start = 0
        try:
            while start < len(requests):
                first, wire, end = self._seq + 1, bytearray(), start
                while end < len(requests) and end - start < CHUNK_MESSAGES and len(wire) < CHUNK_BYTES:
                    self._seq += 1
                    wire += requests[end].wire(self._seq)
                    end += 1
                try:
                    self.sock.send(wire)
                finally:
                    close_fds(requests[start:end])
                    count, start = end - start, end
                out += self._answers(first, count)
        finally:
            close_fds(requests[start:])
        return out

    def _answers(self, first: int, count: int) -> list[OSError | nlmsg | None]:
        got: dict[int, OSError | nlmsg | None] = {}
        while len(got) < count:
            size = self.sock.recv_into(self._buf)
            data = bytes(self._buf[:size])
            offset = 0
            while offset + _ACK.size <= size:
                length, kind, _, seq, _, code = _ACK.unpack_from(data, offset)
                if length < 16 or offset + length > size:
                    break
                if first <= seq < first + count and seq not in got:
                    if kind == NLMSG_ERROR and code == 0:
                        got[seq] = None  # an ack: most answers, and nothing in it to read
                    else:
                        (msg,) = self._parser.parse(data[offset:offset + length])
                        got[seq] = _error(msg) if kind == NLMSG_ERROR else msg
                offset += (length + 3) & ~3
        return [got[s] for s in range(first, first + count)]


# nlmsghdr, then (in an NLMSG_ERROR) its error code: 0 for an ack. pyroute2's Marshal takes
# ~7 µs to make an nlmsgerr of an ack; only errors and GET answers are handed to it.
_ACK = struct.Struct("=IHHIIi")


def close_fds(requests: Sequence[Request]) -> None:
    for req in requests:
        for fd in req.fds:
            os.close(fd)


def _error(msg: nlmsg) -> OSError | None:
    """None for an ack, else the OSError with the kernel's extended-ack text if it gave one."""
    code = -msg["error"]
    if code == 0:
        return None
    text, note = os.strerror(code), msg.get_attr("NLMSGERR_ATTR_MSG")
    return OSError(code, f"{text} ({note})" if note else text)


def link_index(answer: nlmsg) -> int:
    """The ifindex in a GETLINK answer."""
    return answer["index"]
