"""Automatic addresses come from the pools, never collide, never leave 198.18.0.0/15 by default."""

from __future__ import annotations

import ipaddress

from netlab import loader

BENCH = ipaddress.ip_network("198.18.0.0/15")


def test_links_and_lans_get_addresses_from_the_default_pools():
    topo = loader.load_text("""name: lab
nodes: {a: {}, b: {}, c: {}, sw: {}}
links: [[a:eth1, b:eth1]]
bridges:
  br0: {node: sw, members: [a:eth0, b:eth0, c:eth0]}
""")
    addrs = [a for v in topo.veths for e in (v.a, v.b) for a in e.addresses]
    assert addrs and all(a.ip in BENCH for a in addrs)
    assert len({a.ip for a in addrs}) == len(addrs)
    lan = {str(a.network) for v in topo.veths for a in v.a.addresses if v.b.master == "br0"}
    assert lan == {"198.18.0.0/24"}
    p2p = [str(a) for v in topo.veths if v.b.master is None for a in (v.a.addresses + v.b.addresses)]
    assert p2p == ["198.19.0.1/30", "198.19.0.2/30"]


def test_auto_addresses_skip_explicit_ones_and_their_subnets():
    topo = loader.load_text("""name: lab
nodes: {a: {}, b: {}, c: {}, d: {}}
links:
  - endpoints: [{node: a, address: 198.18.0.1/24}, b]
  - [c, d]
pools:
  p2p: {ipv4: 198.18.0.0/16, prefix: 24}
""")
    first, second = topo.veths
    assert str(first.b.addresses[0]) == "198.18.0.2/24"
    assert str(second.a.addresses[0]) == "198.18.1.1/24"


def test_gateway_bridge_gives_members_a_default_route():
    topo = loader.load_text("""name: lab
nodes: {gw: {}, h1: {}}
bridges:
  br0: {node: gw, gateway: true, members: [h1]}
""")
    (route,) = topo.routes["h1"]
    assert route.to == "default" and str(route.via) == "198.18.0.1"
    assert topo.address_of("h1") == ipaddress.ip_address("198.18.0.2")


def test_ipv6_pool_adds_ipv6_addresses():
    topo = loader.load_text("""name: lab
pools:
  p2p: {ipv4: 198.19.0.0/16, prefix: 30, ipv6: "2001:2::/48", prefix6: 64}
nodes: {a: {}, b: {}}
links: [[a, b]]
""")
    (veth,) = topo.veths
    assert [a.version for a in veth.a.addresses] == [4, 6]
    assert str(veth.b.addresses[1]) == "2001:2::2/64"


def test_interface_names_are_assigned_in_order():
    topo = loader.load_text("name: lab\nnodes: {a: {}, b: {}, c: {}}\nlinks: [[a, b], [a:eth0, c]]\n")
    assert sorted(i.name for i in topo.interfaces("a")) == ["eth0", "eth1"]


def test_an_exhausted_subnet_is_an_error():
    import pytest

    from netlab.errors import TopologyError

    with pytest.raises(TopologyError, match="no free address left"):
        loader.load_text("name: lab\nnodes: {s: {}, a: {}, b: {}, c: {}}\n"
                         "bridges:\n  br0: {node: s, subnet: 198.18.0.0/30, members: [a, b, c]}\n")
