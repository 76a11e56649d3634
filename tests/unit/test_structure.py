"""Wrong types anywhere, hostile YAML, and data given from Python: each answered
with problems at their place, never a traceback and never a long wait."""

from __future__ import annotations

import ipaddress
import time

import pytest

from netlab import loader, yamlread
from netlab.errors import TopologyError

from .answers import one, problems

pytestmark = pytest.mark.usefixtures("yaml_builder")  # every test with each YAML builder

TWO = "name: lab\nnodes: {a: {}, b: {}}\n"


@pytest.mark.parametrize("text, expected", [
    ("name: lab\nnodes: {a: hello}\n", "t.yaml:2:9: nodes.a: should be a mapping of the node's fields"),
    ("name: lab\nnodes: {a: [1, 2]}\n", "nodes.a: should be a mapping of the node's fields (e.g. {forwarding: true}), "
                                        "or empty, not a list of 2"),
    ("name: lab\nnodes: [a, b]\n", "t.yaml:2:1: nodes: should be a mapping (key: value), not a list of 2"),
    (TWO + "links: [3]\n", "t.yaml:3:9: links[0]: should be a pair of endpoints such as [h1:eth0, h2:eth0]"),
    (TWO + "links: [[true, b]]\n", "links[0].endpoints[0]: should be node:interface (e.g. h1:eth0) or a mapping"),
    (TWO + "links: [{endpoints: [{node: a, address: 5}, b]}]\n",
     "t.yaml:3:32: links[0].endpoints[0].address: should be an address (e.g. 198.18.0.1/24), a list of them, "
     "auto or none, not the number 5"),
    (TWO + "links: [{endpoints: [{node: a, address: true}, b]}]\n", "not the boolean true"),
    (TWO + "links: [{endpoints: [{node: a, address: [7]}, b]}]\n", "should be an address with a prefix length"),
    (TWO + "links: [{endpoints: [{endpoint: 5}, b]}]\n", "links[0].endpoints[0]: should be node:interface"),
    (TWO + "links: [{endpoints: [a, b], mtu: true}]\n", "links[0].mtu: should be a whole number, not the boolean true"),
    (TWO + "links: [{endpoints: [a, b], subnet: 5}]\n", "links[0].subnet: should be a network (e.g. 198.18.0.0/24)"),
    (TWO + "bridges: {br0: hello}\n", "bridges.br0: should be a mapping such as {node: gw, members: [h1:eth0, h2:eth0]}"),
    (TWO + "bridges: {br0: {node: a, members: b}}\n", "bridges.br0.members: should be a list, not the text 'b'"),
    ("name: lab\ndefaults: [1]\nnodes: {a: {}}\n", "t.yaml:2:1: defaults: should be a mapping (key: value)"),
    ("name: [x]\nnodes: {a: {}}\n", "t.yaml:1:1: name: should be text, not a list of 1"),
    ("name: lab\nnodes: {a: {kind: [netns]}}\n", "nodes.a.kind: should be one of: docker, host, netns, not a list"),
    ("name: lab\nnodes: {a: {routes: [{via: 5}]}}\n", "nodes.a.routes[0].via: should be an IP address"),
    ("name: lab\nnodes: {a: {nat: [x]}}\n", "nodes.a.nat[0]: should be a mapping such as {type: masquerade, out: eth1}"),
    ("name: lab\nnodes: {a: {sysctls: {net.ipv4.ip_forward: 0.5}}}\n",
     "nodes.a.sysctls.net.ipv4.ip_forward: should be text or a whole number, not the number 0.5"),
    ("name: lab\nnodes: {a: {nat: [{type: dnat, in: e, port: true, to: '198.18.0.1:80'}]}}\n",
     "nodes.a.nat[0].port: should be a whole number, not the boolean true"),
    ("name: lab\npools: {lan: 5}\nnodes: {a: {}}\n", "pools.lan: should be a mapping such as {ipv4: 198.18.0.0/16"),
    ("name: lab\nnodes: {5: {}}\n", "t.yaml:2:9: nodes.5: '5' is not a node name"),
    ("name: lab\nnodes: {a: {exec: ls}}\n", "nodes.a.exec: should be a list, not the text 'ls'"),
])
def test_a_wrong_type_anywhere_is_a_problem_at_its_place(text, expected):
    assert any(expected in p for p in problems(text)), problems(text)


def test_an_unknown_field_lists_the_fields_and_suggests_one():
    p = one(TWO + "links: [{endpoints: [{node: a, interfce: eth0}, b]}]\n")
    assert "links[0].endpoints[0].interfce: unknown field (fields: node, interface, address, mac, mtu)" in p
    assert "did you mean 'interface'?" in p


def test_a_problem_in_defaults_is_reported_there_once():
    text = "name: lab\ndefaults:\n  sysctls: {kernel.panic: 1}\nnodes: {a: {}, b: {}, c: {}}\n"
    assert problems(text) == ["t.yaml:3:13: defaults.sysctls.kernel.panic: 'kernel.panic': only per-namespace net.* "
                              "sysctls may be set in a node (kernel.*, vm.*, fs.* would change the whole machine)"]


def test_a_node_field_over_a_default_is_reported_at_the_node():
    text = "name: lab\ndefaults:\n  forwarding: true\nnodes:\n  a: {forwarding: maybe}\n"
    assert one(text).startswith("t.yaml:5:7: nodes.a.forwarding: should be true or false")


def test_short_forms_point_at_what_is_written():
    p = one(TWO + "links:\n  - [a:eth0, b:this-is-far-too-long]\n")
    assert p.startswith("t.yaml:4:14: links[0].endpoints[1].interface:")
    p = one(TWO + "links:\n  - endpoints: [{endpoint: 'a:x y'}, b]\n")
    assert p.startswith("t.yaml:4:18: links[0].endpoints[0].interface:")


@pytest.mark.parametrize("text, expected, line", [
    ("a: &a [1]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
     "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
     "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n",
     "(an alias bomb?)", 6),
    # libyaml's own limit where it has one (PyYAML's bundled 0.2.6), else netlab's (Debian's 0.2.5, the C builder's)
    ("a: " + "[" * 50_000 + "]" * 50_000 + "\n", ("exceeded maximum nesting depth", "nested more than 64 levels deep"), 1),
    ("a: " + "{b: " * 100 + "1" + "}" * 100 + "\n", "nested more than 64 levels deep", 1),
    ("a:\n" + "".join("  " * i + "- \n" for i in range(1, 80)), "nested more than 64 levels deep", 65),
    ("a: &x [*x]\n", "alias *x is inside the node it names (a cycle)", 1),
    ("a: *nowhere\n", "alias *nowhere names no anchor", 1),
    ("a: !!binary aGk=\n", "tag !!binary is not supported", 1),
    ("a: !!python/object/apply:os.system [true]\n", "tag !!python/object/apply:os.system is not supported", 1),
    ("a: " + "9" * 5000 + "\n", "a number with 5,000 digits", 1),
    ("a: 1\n---\nb: 2\n", "a second YAML document", 2),
    ("a: 1\nb: 2\na: 3\n", "duplicate key 'a' (first at line 1, column 1)", 3),
    ("? [a]\n: 1\n", "a key is a name, not a list", 1),
    ("a: \x07\n", "control characters are not allowed", 1),
])
def test_hostile_yaml_is_refused_quickly_at_its_place(text, expected, line):
    started = time.monotonic()
    with pytest.raises(TopologyError) as info:
        yamlread.parse(text, "t.yaml")
    assert time.monotonic() - started < 5  # seconds, against minutes before: not a speed target
    (p,) = info.value.problems
    assert any(e in p.message for e in ((expected,) if isinstance(expected, str) else expected)), str(p)
    assert p.line == line, str(p)


def test_yaml_12_values_merge_keys_and_keys_as_names():
    data, _ = yamlread.parse("a: yes\nb: 012\nc: 0x1f\nd: 1_000\ne: ~\nf: .inf\n5: x\ntrue: y\n"
                             "base: &b {p: 1, q: 2}\nm: {<<: *b, q: 3}\n", "t.yaml")
    assert data["a"] == "yes" and data["b"] == 12 and data["c"] == 31 and data["d"] == "1_000" and data["e"] is None
    assert data["f"] == float("inf") and data["5"] == "x" and data["true"] == "y"
    assert data["m"] == {"q": 3, "p": 1}


def test_load_data_gives_the_same_checks_and_messages_without_lines():
    topo = loader.load_data({"name": "lab", "nodes": {"a": {}, "b": None},
                             "links": [{"endpoints": [{"node": "a", "address": ipaddress.ip_interface("198.18.0.1/24")},
                                                      "b"]}]})
    assert topo.address_of("a") == ipaddress.ip_address("198.18.0.1")
    with pytest.raises(TopologyError) as info:
        loader.load_data({"name": "lab", "nodes": {"a": {"mtu": 5}, 7: {}}, "links": [["a", "ghost"]]}, "builder")
    shown = [str(p) for p in info.value.problems]
    assert "builder: nodes.a.mtu: unknown field (fields: kind, host, forwarding, sysctls, routes, nat, exec)" in shown
    assert "builder: nodes.7: a key should be text (a name), not the number 7" in shown
    with pytest.raises(TopologyError) as info:
        loader.load_data(["not", "a", "mapping"], "builder")
    assert str(info.value) == "builder: a topology is a mapping with `name` and `nodes`, not a list of 3"


def test_load_data_leaves_the_callers_data_as_it_was():
    data = {"name": "lab", "defaults": {"sysctls": {"net.ipv4.tcp_syncookies": 1}},
            "nodes": {"a": {"sysctls": {"net.ipv4.tcp_syncookies": 0}}, "b": {}}, "links": [["a", "b"]]}
    before = repr(data)
    topo = loader.load_data(data)
    assert repr(data) == before and topo.nodes["a"].sysctls == {"net.ipv4.tcp_syncookies": 0}


def test_a_cyclic_python_structure_is_a_problem():
    data: dict = {"name": "lab", "nodes": {"a": {}}}
    data["defaults"] = {"exec": []}
    data["defaults"]["exec"].append(data["defaults"]["exec"])
    with pytest.raises(TopologyError):
        loader.load_data(data)
