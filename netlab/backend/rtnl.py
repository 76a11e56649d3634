"""Pipelined rtnetlink: many requests per system call, answers read afterwards.

This is the kernel backend's fast path for the ops a large lab repeats once per
node (namespace mark, veth, link up, address, route). pyroute2's IPRoute costs
0.3–1.4 ms a request here (its asyncio endpoint, its message classes: ~150 µs to
encode one veth request) and several milliseconds to set up per namespace; a
request packed with ``struct`` costs a few µs, and a socket is one system call.
pyroute2 stays for everything else (tc, dumps, status), where it reads better.

The kernel runs every message of a ``send`` in order, in that system call, and
queues one answer per message (NLM_F_ACK): a failed message does not stop the
ones after it, so a caller undoes the whole chunk it sent, as the executor does
with a batch. Attribute numbers are the kernel's ABI (linux/if_link.h,
if_addr.h, rtnetlink.h, netlink.h); they never change.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import struct
from collections.abc import Sequence
from dataclasses import dataclass

NETLINK_ROUTE = 0
SOL_NETLINK = 270
NETLINK_CAP_ACK, NETLINK_EXT_ACK = 10, 11
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_REQUEST, NLM_F_ACK, NLM_F_REPLACE, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x100, 0x200, 0x400
NLM_F_CAPPED, NLM_F_ACK_TLVS = 0x100, 0x200
NLMSGERR_ATTR_MSG = 1
RTM_NEWLINK, RTM_DELLINK, RTM_GETLINK, RTM_NEWADDR, RTM_NEWROUTE, RTM_NEWQDISC = 16, 17, 18, 20, 24, 36
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER = 1, 3, 4, 10
IFLA_LINKINFO, IFLA_IFALIAS, IFLA_NET_NS_FD, IFLA_EXT_MASK = 18, 20, 28, 29
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
VETH_INFO_PEER = 1
IFLA_BR_STP_STATE = 5
IFA_ADDRESS, IFA_LOCAL = 1, 2
RTA_DST, RTA_OIF, RTA_GATEWAY, RTA_PRIORITY, RTA_TABLE = 1, 4, 5, 6, 15
RT_TABLE_MAIN, RTPROT_STATIC, RT_SCOPE_UNIVERSE, RT_SCOPE_LINK, RTN_UNICAST = 254, 4, 0, 253, 1
RTEXT_FILTER_SKIP_STATS = 1 << 3

_HDR = struct.Struct("=IHHII")  # nlmsghdr: len, type, flags, seq, pid
_IFINFO = struct.Struct("=BxHiII")  # ifinfomsg: family, type, index, flags, change
_IFADDR = struct.Struct("=BBBBi")  # ifaddrmsg: family, prefixlen, flags, scope, index
_RTMSG = struct.Struct("=BBBBBBBBI")  # rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags
_NLA = struct.Struct("=HH")
_CREATE = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
_CHANGE = NLM_F_REQUEST | NLM_F_ACK

# A chunk is what one send() carries: small enough for the socket buffers
# (the kernel refuses a message over sk_sndbuf) and for the answers to queue.
CHUNK_MESSAGES = 64
CHUNK_BYTES = 32 * 1024
RCVBUF = 1 << 20


# -- encoding ------------------------------------------------------------------
def attr(kind: int, payload: bytes) -> bytes:
    """One netlink attribute, padded to 4 bytes."""
    size = 4 + len(payload)
    return _NLA.pack(size, kind) + payload + b"\0" * (-size % 4)


def attr_str(kind: int, text: str) -> bytes:
    return attr(kind, text.encode() + b"\0")


def attr_u32(kind: int, value: int) -> bytes:
    return attr(kind, struct.pack("=I", value))


def attr_mac(kind: int, mac: str) -> bytes:
    return attr(kind, bytes.fromhex(mac.replace(":", "")))


@dataclass(frozen=True)
class Request:
    """One rtnetlink message to send: its type, flags and body (after the header)."""

    type: int
    flags: int
    body: bytes
    fds: tuple[int, ...] = ()  # namespace fds the body names; closed once sent


def _link_attrs(name: str, alias: str | None = None, mac: str | None = None, mtu: int | None = None,
                ns_fd: int | None = None) -> bytes:
    out = attr_str(IFLA_IFNAME, name)
    if alias:
        out += attr_str(IFLA_IFALIAS, alias)
    if mac:
        out += attr_mac(IFLA_ADDRESS, mac)
    if mtu:
        out += attr_u32(IFLA_MTU, mtu)
    if ns_fd is not None:
        out += attr_u32(IFLA_NET_NS_FD, ns_fd)
    return out


def new_veth(name: str, alias: str, ns_fd: int, peer_name: str, peer_alias: str, peer_fd: int,
             mac: str | None = None, mtu: int | None = None, peer_mac: str | None = None,
             peer_mtu: int | None = None) -> Request:
    """`ip link add NAME netns A type veth peer name PEER netns B`: both ends made
    in their namespaces at once, so neither ever holds a name in the sender's."""
    peer = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(peer_name, peer_alias, peer_mac, peer_mtu, peer_fd)
    info = attr_str(IFLA_INFO_KIND, "veth") + attr(IFLA_INFO_DATA, attr(VETH_INFO_PEER, peer))
    body = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(name, alias, mac, mtu, ns_fd) + attr(IFLA_LINKINFO, info)
    return Request(RTM_NEWLINK, _CREATE, body, (ns_fd, peer_fd))


def new_bridge(name: str, alias: str, mtu: int | None = None, stp: bool = False) -> Request:
    info = attr_str(IFLA_INFO_KIND, "bridge") + attr(IFLA_INFO_DATA, attr_u32(IFLA_BR_STP_STATE, int(stp)))
    body = _IFINFO.pack(0, 0, 0, 0, 0) + _link_attrs(name, alias, None, mtu) + attr(IFLA_LINKINFO, info)
    return Request(RTM_NEWLINK, _CREATE, body)


def set_link(name: str, up: bool | None = None, master: int | None = None, alias: str | None = None) -> Request:
    """`ip link set NAME [master M] [alias A] [up|down]`, the device found by name."""
    flags, change = (0, 0) if up is None else (IFF_UP if up else 0, IFF_UP)
    body = _IFINFO.pack(0, 0, 0, flags, change) + attr_str(IFLA_IFNAME, name)
    if master is not None:
        body += attr_u32(IFLA_MASTER, master)
    if alias:
        body += attr_str(IFLA_IFALIAS, alias)
    return Request(RTM_NEWLINK, _CHANGE, body)


def del_link(name: str) -> Request:
    """`ip link del NAME` (a veth takes its peer with it)."""
    return Request(RTM_DELLINK, _CHANGE, _IFINFO.pack(0, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name))


def get_link(name: str) -> Request:
    """Ask for one link by name (the answer carries its index)."""
    body = _IFINFO.pack(0, 0, 0, 0, 0) + attr_str(IFLA_IFNAME, name) + attr_u32(IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS)
    return Request(RTM_GETLINK, NLM_F_REQUEST, body)


def new_addr(index: int, address: str) -> Request:
    """`ip addr add ADDRESS dev INDEX` (IPv4 or IPv6, with its prefix length)."""
    iface = ipaddress.ip_interface(address)
    family = socket.AF_INET if iface.version == 4 else socket.AF_INET6
    packed = iface.ip.packed
    body = _IFADDR.pack(family, iface.network.prefixlen, 0, 0, index) + attr(IFA_LOCAL, packed) + attr(IFA_ADDRESS, packed)
    return Request(RTM_NEWADDR, _CREATE, body)


def new_route(to: str, via: str | None = None, oif: int | None = None, metric: int | None = None) -> Request:
    """`ip route add TO [via GW] [dev OIF] [metric M]` in the main table, as pyroute2 and ip(8) make it."""
    if to == "default":
        net = ipaddress.ip_network("::/0" if via and ":" in via else "0.0.0.0/0")
    else:
        net = ipaddress.ip_network(to, strict=False)
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    scope = RT_SCOPE_UNIVERSE if via else RT_SCOPE_LINK
    body = _RTMSG.pack(family, net.prefixlen, 0, 0, RT_TABLE_MAIN, RTPROT_STATIC, scope, RTN_UNICAST, 0)
    if net.prefixlen:
        body += attr(RTA_DST, net.network_address.packed)
    if via:
        body += attr(RTA_GATEWAY, ipaddress.ip_address(via).packed)
    if oif is not None:
        body += attr_u32(RTA_OIF, oif)
    if metric is not None:
        body += attr_u32(RTA_PRIORITY, metric)
    body += attr_u32(RTA_TABLE, RT_TABLE_MAIN)
    return Request(RTM_NEWROUTE, _CREATE, body)


def tbf_template(rate: str) -> bytes:
    """The body of `tc qdisc replace dev ? root handle 1: tbf rate RATE ...` for ifindex 0.

    Encoded once per rate by pyroute2's tc classes (the tbf rate table is theirs
    to get right); ``replace_qdisc`` puts each device's index in."""
    from pyroute2.netlink.rtnl import TC_H_ROOT
    from pyroute2.netlink.rtnl.tcmsg import sched_tbf, tcmsg

    from netlab.backend.tc import tbf_params

    msg = tcmsg()
    msg["handle"], msg["parent"] = 0x10000, TC_H_ROOT
    msg["attrs"] = [["TCA_KIND", "tbf"], ["TCA_OPTIONS", sched_tbf.get_parameters(dict(tbf_params(rate)))]]
    msg.encode()
    return bytes(msg.data[_HDR.size:])


def replace_qdisc(index: int, template: bytes) -> Request:
    """A qdisc ``template`` (a tcmsg body) on device ``index``, replacing its root qdisc."""
    body = template[:4] + struct.pack("=i", index) + template[8:]  # tcmsg: family, pads, ifindex, ...
    return Request(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, body)


# -- the socket ---------------------------------------------------------------


class Channel:
    """One NETLINK_ROUTE socket, bound inside one namespace for its whole life."""

    def __init__(self, sock: socket.socket | None = None) -> None:
        self.sock = sock or socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, NETLINK_ROUTE)
        for opt in (NETLINK_CAP_ACK, NETLINK_EXT_ACK):
            self.sock.setsockopt(SOL_NETLINK, opt, 1)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        self.sock.bind((0, 0))
        self._seq = 0
        self._buf = bytearray(1 << 16)

    def close(self) -> None:
        self.sock.close()

    def exchange(self, requests: Sequence[Request]) -> list[OSError | bytes | None]:
        """Send every request, in chunks of many per system call; return each one's
        outcome, in order: None (done), the answer's bytes (a GET), or an OSError."""
        out: list[OSError | bytes | None] = []
        start = 0
        try:
            while start < len(requests):
                end, size = start, 0
                while end < len(requests) and end - start < CHUNK_MESSAGES and size < CHUNK_BYTES:
                    size += len(requests[end].body) + _HDR.size
                    end += 1
                chunk, start = requests[start:end], end
                out += self._chunk(chunk)
        finally:
            close_fds(requests[start:])
        return out

    def _chunk(self, requests: Sequence[Request]) -> list[OSError | bytes | None]:
        first = self._seq + 1
        wire = bytearray()
        try:
            for req in requests:
                self._seq += 1
                wire += _HDR.pack(_HDR.size + len(req.body), req.type, req.flags, self._seq, 0) + req.body
            self.sock.send(wire)
        finally:
            close_fds(requests)
        return self._answers(first, len(requests))

    def _answers(self, first: int, count: int) -> list[OSError | bytes | None]:
        got: dict[int, OSError | bytes | None] = {}
        view = memoryview(self._buf)
        while len(got) < count:
            size = self.sock.recv_into(self._buf)
            pos = 0
            while pos + _HDR.size <= size:
                length, kind, flags, seq, _ = _HDR.unpack_from(self._buf, pos)
                if length < _HDR.size:
                    break
                if first <= seq < first + count and seq not in got:
                    got[seq] = _error(view[pos:pos + length], flags) if kind == NLMSG_ERROR else bytes(view[pos:pos + length])
                pos += (length + 3) & ~3
        return [got[s] for s in range(first, first + count)]


def close_fds(requests: Sequence[Request]) -> None:
    for req in requests:
        for fd in req.fds:
            os.close(fd)


def _error(msg: memoryview, flags: int) -> OSError | None:
    (code,) = struct.unpack_from("=i", msg, _HDR.size)
    if code == 0:
        return None
    err = -code
    text = os.strerror(err)
    inner = _HDR.size + 4
    if flags & NLM_F_ACK_TLVS:
        (inner_len,) = struct.unpack_from("=I", msg, inner)
        pos = inner + (_HDR.size if flags & NLM_F_CAPPED else (inner_len + 3) & ~3)
        while pos + 4 <= len(msg):
            size, kind = _NLA.unpack_from(msg, pos)
            if size < 4:
                break
            if kind & 0x3FFF == NLMSGERR_ATTR_MSG:
                note = bytes(msg[pos + 4:pos + size]).rstrip(b"\0").decode(errors="replace")
                text += f" ({note})"
            pos += (size + 3) & ~3
    return OSError(err, text)


def link_index(answer: bytes) -> int:
    """The ifindex in a GETLINK answer."""
    return _IFINFO.unpack_from(answer, _HDR.size)[2]
