"""Kernel limits a file can hit, refused by validate before anything is built:
one test per limit (the figures are netlab/limits.py's, measured on the kernel)."""

from __future__ import annotations

import pytest

from netlab import limits, loader, names
from netlab.backend import tc

from .answers import one, problems

TWO = "name: lab\nnodes: {a: {}, b: {}}\n"


def star(members: int) -> str:
    nodes = "".join(f"  h{i}: {{}}\n" for i in range(members))
    return (f"name: big\nnodes:\n  sw: {{}}\n{nodes}bridges:\n  br0:\n    node: sw\n    subnet: 198.18.0.0/21\n"
            f"    members: [{', '.join(f'h{i}' for i in range(members))}]\n")


def test_a_bridge_holds_at_most_1023_ports():
    assert loader.load_text(star(limits.BRIDGE_PORTS)).bridges[0].name == "br0"
    text = star(limits.BRIDGE_PORTS + 1)
    p = one(text)
    assert p.startswith(f"t.yaml:{text.count(chr(10))}:5: bridges.br0.members: 1,024 members: a Linux bridge holds at most 1,023 ports "
                        "(BR_MAX_PORTS is 1,024 and port 0 is reserved)"), p


@pytest.mark.parametrize("mtu, ok", [(67, False), (68, True), (65535, True), (65536, False)])
def test_mtu_range_of_veth_and_bridge(mtu, ok):
    for text in (TWO + f"links: [{{endpoints: [a, b], mtu: {mtu}}}]\n",
                 TWO + f"bridges: {{br0: {{node: a, members: [b], mtu: {mtu}}}}}\n"):
        if ok:
            loader.load_text(text)
        else:
            assert "should be at" in one(text) and "mtu" in one(text)


def test_an_ipv6_address_needs_an_mtu_of_1280():
    text = TWO + "links: [{endpoints: [{node: a, address: '2001:2::1/64'}, b], mtu: 1279}]\n"
    found = problems(text)  # a, and b, which gets an address of a's subnet
    assert found[0].startswith("t.yaml:3:32: links[0].endpoints[0].address: an IPv6 address needs an MTU of at "
                               "least 1280 (the kernel refuses it on MTU 1279)")
    loader.load_text(text.replace("1279", "1280"))


@pytest.mark.parametrize("rate, message", [
    ("0bit", "less than tbf takes: the slowest rate is 96bit"),
    ("95bit", "less than tbf takes"),
    ("34.36gbit", "more than tbf takes (4,294,967,295 bytes/s, 34.35gbit)"),
])
def test_tbf_rate_bounds(rate, message):
    assert message in one(TWO + f"links: [{{endpoints: [a, b], rate: {rate}}}]\n")


@pytest.mark.parametrize("rate", ["96bit", "1kbit", "34.35gbit"])
def test_the_rate_bounds_are_what_the_backend_encodes(rate):
    loader.load_text(TWO + f"links: [{{endpoints: [a, b], rate: {rate}}}]\n")
    params = tc.tbf_params(rate)  # the same bucket rule: u32 rate, u32 bucket time in ticks
    assert limits.tbf_bucket(params["rate"]) == params["burst"] and params["rate"] <= limits.U32
    assert params["burst"] / params["rate"] * 1e6 * limits.PSCHED_TICKS_PER_US <= limits.U32


def test_a_jumbo_mtu_under_a_small_tbf_bucket_is_refused():
    text = TWO + "links: [{endpoints: [a, b], mtu: 9000, rate: 1mbit}]\n"
    p = one(text)
    assert "links[0].rate: at 1mbit the tbf bucket is 3,200 bytes, smaller than a full 9,014-byte frame" in p
    assert "use an MTU of at most 3,186 or a rate of at least 18.03mbit" in p
    loader.load_text(text.replace("1mbit", "18.03mbit"))


@pytest.mark.parametrize("loss, ok", [("0.0001%", True), ("0.00001%", False), ("100%", True), ("101%", False)])
def test_loss_granularity(loss, ok):
    text = TWO + f"links: [{{endpoints: [a, b], loss: '{loss}'}}]\n"
    if ok:
        loader.load_text(text)
    else:
        assert "links[0].loss" in one(text)


def test_delay_bound_of_netem():
    assert "more than netem takes (274 s)" in one(TWO + "links: [{endpoints: [a, b], delay: 275s}]\n")


@pytest.mark.parametrize("name, why", [("lo", "the namespace's own loopback"), ("all", "refused by the kernel"),
                                       ("default", "refused by the kernel"), ("x:y", "is not an interface name"),
                                       ("a234567890123456", "Linux allows 15")])
def test_interface_names_the_kernel_refuses(name, why):
    assert why in one(TWO + f"links: [[a, 'b:{name}']]\n")
    assert why in one(f"name: lab\nnodes: {{a: {{}}}}\nbridges: {{'{name}': {{node: a}}}}\n")


@pytest.mark.parametrize("mac, why", [("01:00:5e:00:00:01", "is a multicast MAC address"),
                                      ("00:00:00:00:00:00", "the all-zero MAC address")])
def test_macs_the_kernel_refuses(mac, why):
    assert why in one(TWO + f"links: [{{endpoints: [{{node: a, mac: '{mac}'}}, b]}}]\n")


def test_route_metric_is_a_u32_and_families_match():
    base = TWO + "links: [{endpoints: [{node: a, address: 198.18.0.1/24}, {node: b, address: 198.18.0.2/24}]}]\n"
    ok = base.replace("a: {}", "a: {routes: [{to: 198.18.9.0/24, via: 198.18.0.2, metric: 4294967295}]}")
    loader.load_text(ok)
    assert "should be at most 4294967295" in one(ok.replace("4294967295", "4294967296"))
    assert "an IPv4 route (198.18.9.0/24) needs an IPv4 gateway, not 2001:2::2" in one(
        ok.replace("via: 198.18.0.2", "via: '2001:2::2'"))


@pytest.mark.parametrize("port, ok", [(1, True), (65535, True), (0, False), (65536, False)])
def test_dnat_port_ranges(port, ok):
    text = ("name: lab\nnodes:\n  gw: {nat: [{type: dnat, in: eth0, port: PORT, to: '198.18.0.2:PORT'}]}\n"
            "  h: {}\nlinks: [[gw, h]]\n").replace("PORT", str(port))
    if ok:
        loader.load_text(text)
    else:
        assert len(problems(text)) == 2  # the port, and the target's port


def test_nat_is_ipv4():
    text = "name: lab\nnodes:\n  gw: {nat: [{type: masquerade, out: eth0, source: '2001:2::/64'}]}\n  h: {}\n" \
           "links: [[gw, h]]\n"
    assert "nodes.gw.nat[0].source: `source` 2001:2::/64 is IPv6: netlab's NAT is IPv4" in one(text)


def test_pool_families():
    assert "`ipv4` is 2001:2::/48, an IPv6 network" in one("name: lab\npools: {lan: {ipv4: '2001:2::/48'}}\n"
                                                          "nodes: {a: {}}\n")


def test_sysctls_of_an_interface_the_node_lacks_and_values_on_one_line():
    text = "name: lab\nnodes:\n  a: {sysctls: {net.ipv4.conf.eth7.rp_filter: 1}}\n  b: {}\nlinks: [[a, b]]\n"
    assert "nodes.a.sysctls.net.ipv4.conf.eth7.rp_filter: a has no interface 'eth7' (it has: eth0)" in one(text)
    loader.load_text(text.replace("eth7", "eth0"))
    loader.load_text(text.replace("eth7", "all"))
    assert "is not a sysctl value (one line" in one(text.replace("eth7", "eth0").replace("1}", '"1\\n2"}'))
    assert "is not a sysctl name" in one(text.replace("net.ipv4.conf.eth7.rp_filter", "net..x"))


def test_names_derived_from_the_longest_lab_and_node_names_fit_the_kernel():
    lab, node = "l" * 32, "n" * 32
    assert names.LAB_NAME.match(lab) and names.NODE_NAME.match(node)
    assert len(names.netns(lab, node)) <= 255  # a file name under /run/netns (NAME_MAX)
    assert len(names.mark(lab, node)) <= 255  # an interface alias (IFALIASZ 256 with the NUL)
    for made in (names.bridge_port(lab, "b" * 15, node, "i" * 15), names.host_peer_tmp(lab, node, "i" * 15)):
        assert len(made) <= names.IFNAMSIZ and names.IFNAME.match(made)
    assert len(node) <= 64  # a docker node's hostname (HOST_NAME_MAX)
