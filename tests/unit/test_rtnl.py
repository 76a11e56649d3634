"""The fast path's rtnetlink messages, encoded as the channel sends them and read
back with pyroute2's own decoders (no root: nothing is sent), and the kernel's
answers parsed."""

from __future__ import annotations

import errno
import os
import socket
import struct

from pyroute2.netlink import NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_EXCL, NLMSG_ERROR
from pyroute2.netlink.rtnl import RTM_NEWLINK
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import IFF_UP, ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from netlab.backend import rtnl


def wire(req: rtnl.Request) -> bytes:
    msg = req.message(1)
    msg.encode()
    return bytes(msg.data)


def decoded(cls, req: rtnl.Request):
    msg = cls(wire(req))
    msg.decode()
    assert msg["header"]["length"] == len(msg.data)
    return msg


def test_a_veth_is_one_request_with_both_ends_placed():
    req = rtnl.new_veth("eth0", "netlab:l:a", 7, "nlp1", "netlab:l:b", 8, mac="02:00:00:00:00:01", mtu=1400,
                        peer_mtu=1400)
    msg = decoded(ifinfmsg, req)
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_NET_NS_FD"), msg.get_attr("IFLA_MTU")) == ("eth0", 7, 1400)
    assert msg.get_attr("IFLA_ADDRESS") == "02:00:00:00:00:01"
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "veth"
    peer = info.get_attr("IFLA_INFO_DATA").get_attr("VETH_INFO_PEER")
    assert (peer.get_attr("IFLA_IFNAME"), peer.get_attr("IFLA_NET_NS_FD"), peer.get_attr("IFLA_MTU")) == ("nlp1", 8, 1400)
    # one queue each way on both ends, as the kernel would cut them to after an RCU grace period
    assert [(m.get_attr("IFLA_NUM_TX_QUEUES"), m.get_attr("IFLA_NUM_RX_QUEUES")) for m in (msg, peer)] == [(1, 1)] * 2
    assert msg["header"]["type"] == RTM_NEWLINK and msg["header"]["flags"] & NLM_F_EXCL
    assert req.fds == (7, 8) and wire(req) == wire(req)
    # encoding leaves the request plain data: no pyroute2 object outlives its send()
    assert all(type(a) is list for a in req.attrs)


def test_link_up_with_master_changes_only_the_up_flag():
    msg = decoded(ifinfmsg, rtnl.set_link("nlp1", up=True, master=3))
    assert (msg["flags"], msg["change"]) == (IFF_UP, IFF_UP)
    assert (msg.get_attr("IFLA_IFNAME"), msg.get_attr("IFLA_MASTER")) == ("nlp1", 3)
    alias_only = decoded(ifinfmsg, rtnl.set_link("eth0", alias="netlab:l:a"))
    assert alias_only["change"] == 0 and alias_only.get_attr("IFLA_IFALIAS") == "netlab:l:a"


def test_addresses_of_both_families():
    v4 = decoded(ifaddrmsg, rtnl.new_addr(5, "198.18.0.2/24"))
    assert (v4["family"], v4["prefixlen"], v4["index"], v4.get_attr("IFA_LOCAL")) == (socket.AF_INET, 24, 5,
                                                                                     "198.18.0.2")
    v6 = decoded(ifaddrmsg, rtnl.new_addr(5, "2001:2::1/64"))
    assert (v6["family"], v6["prefixlen"], v6.get_attr("IFA_ADDRESS")) == (socket.AF_INET6, 64, "2001:2::1")


def test_routes_read_like_ip_route_add():
    default6 = decoded(rtmsg, rtnl.new_route("default", via="2001:2::1"))
    assert (default6["family"], default6["dst_len"], default6.get_attr("RTA_GATEWAY")) == (socket.AF_INET6, 0,
                                                                                         "2001:2::1")
    assert default6.get_attr("RTA_DST") is None
    dev_route = decoded(rtmsg, rtnl.new_route("198.19.0.0/16", oif=4, metric=5))
    assert (dev_route.get_attr("RTA_DST"), dev_route["dst_len"], dev_route.get_attr("RTA_OIF")) == ("198.19.0.0", 16, 4)
    assert dev_route["scope"] == 253 and dev_route.get_attr("RTA_PRIORITY") == 5


def test_one_rates_tbf_options_serve_every_device():
    options = rtnl.tbf_options("100mbit")
    msg = decoded(tcmsg, rtnl.replace_qdisc(9, "tbf", options))
    assert decoded(tcmsg, rtnl.replace_qdisc(10, "tbf", options))["index"] == 10
    assert (msg["index"], msg["handle"], msg.get_attr("TCA_KIND")) == (9, 0x10000, "tbf")
    assert msg.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")["rate"] == 100_000_000 // 8


def kernel_error(request: bytes, code: int, note: bytes) -> bytes:
    """An NLMSG_ERROR answer as the kernel writes it with extended acks on and
    not capped: the error, the whole failed request, then the TLVs."""
    tlv = struct.pack("=HH", 4 + len(note), 1) + note + b"\0" * (-len(note) % 4) if note else b""  # ATTR_MSG
    body = struct.pack("=i", code) + request + tlv
    seq = struct.unpack_from("=I", request, 8)[0]
    return struct.pack("=IHHII", 16 + len(body), NLMSG_ERROR, NLM_F_ACK_TLVS, seq, 0) + body


def test_an_error_answer_carries_the_kernels_own_words():
    request = wire(rtnl.new_addr(5, "198.18.0.2/24"))
    (msg,) = rtnl.Answers().parse(kernel_error(request, -errno.EEXIST, b"ipv4: Address already assigned\0"))
    err = rtnl._error(msg)
    assert isinstance(err, FileExistsError)
    assert err.strerror == f"{os.strerror(errno.EEXIST)} (ipv4: Address already assigned)"
    plain = rtnl._error(next(rtnl.Answers().parse(kernel_error(request, -errno.ENODEV, b""))))
    assert isinstance(plain, OSError) and plain.strerror == os.strerror(errno.ENODEV)


def test_an_ack_is_none_and_a_link_answer_gives_its_index():
    ack = struct.pack("=IHHIIi", 36, NLMSG_ERROR, NLM_F_CAPPED, 4, 0, 0) + struct.pack("=IHHII", 32, RTM_NEWLINK, 5, 4, 0)
    (msg,) = rtnl.Answers().parse(ack)
    assert rtnl._error(msg) is None
    answer = ifinfmsg()
    answer["header"]["type"], answer["index"] = RTM_NEWLINK, 42
    answer["attrs"] = [["IFLA_IFNAME", "eth0"], ["IFLA_MTU", 1500]]
    answer.encode()
    (link,) = rtnl.Answers().parse(bytes(answer.data))
    assert rtnl.link_index(link) == 42


def test_a_cached_encoding_is_pyroute2s_own_with_its_sequence_number():
    up = rtnl.set_link("eth0", up=True)
    for seq in (7, 8, 2**32 - 1):
        assert bytes(up.wire(seq)) == bytes(rtnl._encode(up, seq))
    other = rtnl.set_link("eth1", up=True)
    assert bytes(other.wire(9)) == bytes(rtnl._encode(other, 9)) != bytes(up.wire(9))
    fd = os.open("/proc/self/ns/net", os.O_RDONLY)
    try:  # a request naming an fd is encoded afresh each time: the fd number is reused once closed
        veth = rtnl.new_veth("p1", None, fd, "eth0", None, fd)
        assert bytes(veth.wire(3)) == bytes(rtnl._encode(veth, 3))
        assert not any("IFLA_NET_NS_FD" in repr(k) for k in rtnl._ENCODED)
    finally:
        os.close(fd)


def test_acks_errors_and_answers_in_one_read_each_find_their_request():
    class Sock:
        def __init__(self, data: bytes):
            self.data = data

        def recv_into(self, buf) -> int:
            buf[:len(self.data)] = self.data
            return len(self.data)

    request = wire(rtnl.new_addr(5, "198.18.0.2/24"))
    ack = struct.pack("=IHHIIi", 36, NLMSG_ERROR, NLM_F_CAPPED, 11, 0, 0) + struct.pack("=IHHII", 16, 0, 0, 11, 0)
    answer = ifinfmsg()
    answer["header"].update(type=RTM_NEWLINK, sequence_number=12)
    answer["index"] = 42
    answer.encode()
    error = kernel_error(struct.pack("=IHHII", 16, 0, 0, 13, 0) + request[16:], -errno.EEXIST, b"")
    channel = rtnl.Channel.__new__(rtnl.Channel)
    channel.sock, channel._buf, channel._parser = Sock(error + bytes(answer.data) + ack), bytearray(1 << 16), rtnl.Answers()
    done, link, failed = channel._answers(11, 3)
    assert done is None and rtnl.link_index(link) == 42 and isinstance(failed, FileExistsError)
