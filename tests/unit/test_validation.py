"""A bad topology file is reported whole, each problem at file:line:col with its field."""

from __future__ import annotations

import pytest

from netlab import loader
from netlab.errors import TopologyError


def problems(text: str) -> list[str]:
    with pytest.raises(TopologyError) as info:
        loader.load_text(text, "topo.yaml")
    return [str(p) for p in info.value.problems]


def test_good_file_loads():
    topo = loader.load_text("name: ok\nnodes: {a: {}, b: {}}\nlinks: [[a:eth0, b:eth0]]\n")
    assert sorted(topo.nodes) == ["a", "b"]


def test_bad_address_names_line_column_and_field():
    text = """name: lab
nodes:
  r1: {}
  r2: {}
links:
  - endpoints:
      - {node: r1, interface: eth0, address: 198.18.0.1}
      - {node: r2, interface: eth0, address: 198.18.0.2/24}
"""
    (p,) = problems(text)
    assert p.startswith("topo.yaml:7:")
    assert "links[0].endpoints[0].address" in p
    assert "needs a prefix length (e.g. 198.18.0.1/24)" in p


def test_every_problem_reported_at_once():
    text = """name: Bad_Name
nodes:
  a: {colour: red}
  b: {}
links:
  - [a:eth0, c:eth0]
  - [a:this-name-is-too-long, b:eth1]
"""
    found = problems(text)
    joined = "\n".join(found)
    assert len(found) >= 3, joined
    assert "topo.yaml:1:" in joined and "name: " in joined and "not a lab name" in joined
    assert "nodes.a.colour: unknown field" in joined
    assert "has 21 characters; Linux allows 15" in joined


def test_endpoint_naming_a_missing_node():
    (p,) = problems("name: lab\nnodes: {a: {}}\nlinks:\n  - [a:eth0, ghost:eth0]\n")
    assert p.startswith("topo.yaml:4:")
    assert "no node named 'ghost' (nodes: a)" in p


def test_many_missing_names_each_get_a_short_message():
    """A generated file whose links name nodes renamed since, or trunks to bridges that are
    not there: one message each, naming a few of the known names and their count (a
    message listing all 20,000 nodes, once per link, made such a file run for minutes)."""
    nodes = "".join(f"  m{i}: {{}}\n" for i in range(2000))
    links = "".join(f"  - [n{i}:eth0, m{i}:eth0]\n" for i in range(2000))
    bridges = "".join(f"  br{i}: {{node: m{i}, trunks: [nobr{i}]}}\n" for i in range(2000))
    found = problems(f"name: lab\nnodes:\n{nodes}links:\n{links}bridges:\n{bridges}")
    missing_nodes = [p for p in found if "no node named" in p]
    missing_bridges = [p for p in found if "no bridge named" in p]
    assert len(missing_nodes) == len(missing_bridges) == 2000, found[:3]
    assert missing_nodes[7].startswith(f"topo.yaml:{2004 + 7}:6:") and "'n7'" in missing_nodes[7]
    assert missing_nodes[0].endswith("(nodes: m0, m1, m10, m100, m1000, m1001, m1002, m1003, m1004, m1005, "
                                     "m1006, m1007, … (2,000 in all))"), missing_nodes[0]
    assert "'nobr5' (bridges: br0, br1, br10," in missing_bridges[5] and "(2,000 in all)" in missing_bridges[5]
    assert max(len(p) for p in found) < 250


def test_duplicate_yaml_key_is_an_error():
    (p,) = problems("name: lab\nnodes:\n  a: {}\n  a: {}\n")
    assert p.startswith("topo.yaml:4:") and "duplicate" in p


def test_interface_used_twice():
    (p,) = problems("name: lab\nnodes: {a: {}, b: {}, c: {}}\nlinks:\n  - [a:eth0, b:eth0]\n  - [a:eth0, c:eth0]\n")
    assert "interface a:eth0 is already used at links[0]" in p


def test_duplicate_and_overlapping_addresses():
    text = """name: lab
nodes: {a: {}, b: {}, c: {}}
links:
  - endpoints:
      - {node: a, address: 198.18.0.1/24}
      - {node: b, address: 198.18.0.1/24}
  - endpoints:
      - {node: a, address: 198.18.0.5/24}
      - {node: c, address: 198.18.0.6/24}
"""
    joined = "\n".join(problems(text))
    assert "198.18.0.1 is already given to links[0].endpoints[0]" in joined
    assert "198.18.0.0/24 overlaps 198.18.0.0/24 used by links[0]" in joined


def test_route_gateway_must_be_reachable():
    text = """name: lab
nodes:
  a:
    routes:
      - {to: default, via: 203.0.113.1}
  b: {}
links:
  - endpoints: [{node: a, address: 198.18.0.1/24}, {node: b, address: 198.18.0.2/24}]
"""
    (p,) = problems(text)
    assert p.startswith("topo.yaml:5:")
    assert "nodes.a.routes[0].via: gateway 203.0.113.1 is not on a subnet of a (its subnets: 198.18.0.0/24)" in p


def test_nat_on_a_missing_interface():
    text = "name: lab\nnodes:\n  gw:\n    nat:\n      - {type: masquerade, out: eth9}\n"
    (p,) = problems(text)
    assert "nodes.gw.nat[0].out: gw has no interface 'eth9'" in p


def test_unknown_nat_type_lists_the_accepted_ones():
    text = "name: lab\nnodes:\n  gw:\n    nat:\n      - {type: teleport, out: eth0}\n"
    (p,) = problems(text)
    assert "masquerade" in p and "dnat" in p


def test_unknown_kind():
    (p,) = problems("name: lab\nnodes:\n  a: {kind: vm}\n")
    assert p.startswith("topo.yaml:3:") and "unknown kind 'vm'" in p and "netns" in p


def test_real_host_is_never_reconfigured():
    text = "name: lab\nnodes:\n  me: {kind: host, forwarding: true, sysctls: {net.ipv4.ip_forward: 1}}\n"
    joined = "\n".join(problems(text))
    assert "never changes the real host's sysctls" in joined
    assert "never turns on forwarding on the real host" in joined


def test_yaml_syntax_error_has_position():
    (p,) = problems("name: lab\nnodes: {a: {}\n")
    assert p.startswith("topo.yaml:") and "(yaml)" in p


def test_defaults_are_inherited_and_checked():
    topo = loader.load_text("name: lab\ndefaults:\n  sysctls: {net.ipv4.tcp_syncookies: 0}\nnodes: {a: {}, b: {forwarding: true}}\n")
    assert topo.nodes["a"].sysctls == {"net.ipv4.tcp_syncookies": 0}
    assert topo.nodes["b"].forwarding and topo.nodes["b"].sysctls


def test_machine_wide_sysctls_are_refused():
    (p,) = problems("name: lab\nnodes:\n  a:\n    sysctls: {fs.file-max: 100}\n")
    assert "nodes.a.sysctls" in p and "only per-namespace net.* sysctls" in p


def test_a_router_with_thousands_of_wrong_routes_gets_short_messages():
    """Each of 3,000 routes through a gateway on none of the router's 1,000 subnets, and each
    through an interface it lacks, is one short message (asking every subnet for every
    route, and listing them all in each message, took 30 s for 5,000)."""
    leaves = "".join(f"  l{i}: {{}}\n" for i in range(1000))
    links = "".join(f"  - [r, l{i}]\n" for i in range(1000))
    routes = "".join(f"      - {{to: 198.18.{i // 250}.{i % 250}/32, via: 203.0.113.1}}\n"
                     f"      - {{to: 203.0.113.0/24, dev: nosuch{i}}}\n" for i in range(1500))
    good = "      - {to: 203.0.113.0/24, via: 198.19.3.230}\n"  # on the subnet of r's 250th link
    found = problems(f"name: lab\nnodes:\n  r:\n    routes:\n{good}{routes}{leaves}links:\n{links}")
    assert len(found) == 3000 and max(len(p) for p in found) < 400, found[:2]
    assert "routes[0]" not in "\n".join(found)
    assert found[0].startswith("topo.yaml:6:29: nodes.r.routes[1].via: gateway 203.0.113.1 is not on a subnet of r "
                               "(its subnets: 198.19.0.0/30, 198.19.0.4/30,"), found[0]
    assert found[0].endswith("… (1,000 in all))") and "(it has: eth0, eth1, eth10, eth100," in found[1]


_MIXED = """name: lab
defaults: {forwarding: true}
nodes:
  a: {}
  web: {kind: docker, image: nginx:1.25, labels: {netlab.lab: other}}
  b: {sysctls: {net.ipv4.tcp_syncookies: 0}}
  me: {kind: host, forwarding: false}
  c:
"""


def test_nodes_checked_kind_by_kind_are_those_checked_one_by_one():
    """loader._nodes validates the nodes of a kind in one call; one by one is the reference."""
    from netlab import yamlread
    from netlab.problems import Locator

    data, positions = yamlread.parse(_MIXED, "topo.yaml")
    locator = Locator("topo.yaml", positions)
    at_once, one_by_one = [], []
    nodes = loader._nodes(data, locator, at_once)
    specs = {name: loader._merge(data["defaults"], body or {}) for name, body in data["nodes"].items()}
    reference = loader._one_by_one(specs, data["nodes"], data["defaults"], locator, one_by_one)
    assert list(nodes) == list(reference) == ["a", "web", "b", "me", "c"]
    assert nodes == reference and [type(n) for n in nodes.values()] == [type(n) for n in reference.values()]
    assert at_once == one_by_one and [str(p) for p in at_once] == [
        "topo.yaml:5:51: nodes.web.labels.netlab.lab: netlab.lab is netlab's own label (it marks the lab's containers)"]


def test_a_name_ending_in_a_newline_is_no_name():
    """`$` in a Python pattern matches before a last newline: node, interface and lab names
    are matched to the end of the text (the kernel refuses whitespace in an interface name)."""
    (node,) = problems('name: lab\nnodes: {"h1\\n": {}}\n')
    assert node == "topo.yaml:2:9: nodes['h1\\n']: 'h1\\n' is not a node name (letters, digits, _ -; at most 32; e.g. h1)"
    (iface,) = problems('name: lab\nnodes: {a: {}, b: {}}\nlinks: [["a:eth0\\n", b]]\n')
    assert "links[0].endpoints[0].interface: 'eth0\\n' is not an interface name" in iface
    (lab,) = problems('name: "lab\\n"\nnodes: {a: {}}\n')
    assert "name: 'lab\\n' is not a lab name" in lab
