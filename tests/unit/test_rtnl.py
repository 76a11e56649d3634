"""The fast path's rtnetlink messages, read back with pyroute2's own decoders
(no root: nothing is sent), and the kernel's error answers parsed."""

from __future__ import annotations

import errno
import os
import socket
import struct

from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg
from pyroute2.netlink.rtnl.tcmsg import tcmsg

from netlab.backend import rtnl


def decoded(cls, req: rtnl.Request):
    msg = cls(struct.pack("=IHHII", 16 + len(req.body), req.type, req.flags, 1, 0) + req.body)
    msg.decode()
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
    assert req.flags & rtnl.NLM_F_EXCL and req.fds == (7, 8)


def test_link_up_with_master_changes_only_the_up_flag():
    msg = decoded(ifinfmsg, rtnl.set_link("nlp1", up=True, master=3))
    assert (msg["flags"], msg["change"]) == (rtnl.IFF_UP, rtnl.IFF_UP)
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
    assert dev_route["scope"] == rtnl.RT_SCOPE_LINK and dev_route.get_attr("RTA_PRIORITY") == 5


def test_a_tbf_template_is_put_on_each_device():
    msg = decoded(tcmsg, rtnl.replace_qdisc(9, rtnl.tbf_template("100mbit")))
    assert (msg["index"], msg["handle"], msg.get_attr("TCA_KIND")) == (9, 0x10000, "tbf")
    assert msg.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")["rate"] == 100_000_000 // 8


def test_an_error_answer_carries_the_kernels_own_words():
    request_header = struct.pack("=IHHII", 16, rtnl.RTM_NEWADDR, 0, 1, 0)
    note = rtnl.attr(rtnl.NLMSGERR_ATTR_MSG, b"ipv4: Address already assigned\0")
    body = struct.pack("=i", -errno.EEXIST) + request_header + note
    answer = struct.pack("=IHHII", 16 + len(body), rtnl.NLMSG_ERROR, rtnl.NLM_F_CAPPED | rtnl.NLM_F_ACK_TLVS, 1, 0)
    err = rtnl._error(memoryview(answer + body), rtnl.NLM_F_CAPPED | rtnl.NLM_F_ACK_TLVS)
    assert isinstance(err, FileExistsError)
    assert err.strerror == f"{os.strerror(errno.EEXIST)} (ipv4: Address already assigned)"

