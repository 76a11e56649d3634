"""Property: every topology gets an answer. Valid topologies are generated from the
model's own shape (every field of every model, test_strategies_cover_the_model
keeps it so), then mutated: any value made a wrong type, required fields deleted,
unknown ones added. Whatever comes out, validation either accepts it or reports
problems (TopologyError with Problems) — never another exception, never a long
wait — and whatever it accepts, the planner can plan.

Failures found here are kept as regression files in tests/corpus/.
"""

from __future__ import annotations

import copy
import os
from datetime import timedelta

import yaml
from hypothesis import HealthCheck, given, settings, strategies as st

from netlab import loader, plan, source
from netlab.errors import Problem, TopologyError
from netlab.kinds.docker import DockerSpec
from netlab.model import Bridge, Dnat, Endpoint, Host, Link, Masquerade, NodeSpec, Pool, Route, Snat, TopologyFile

# `make test` runs a fixed set of 150 examples a property (seconds); a longer hunt for new
# failures: NETLAB_PROPERTY_EXAMPLES=5000 pytest tests/unit/test_property.py (random each run)
HUNT = int(os.environ.get("NETLAB_PROPERTY_EXAMPLES", "0"))
SETTINGS = settings(max_examples=HUNT or 150, deadline=timedelta(seconds=5), derandomize=not HUNT,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
NODES = [f"h{i}" for i in range(5)]
IFNAMES = st.sampled_from(["eth0", "eth1", "eth2", "e-1", "x.y", "lan0"])
MTU = st.integers(68, 65535)
RATE = st.sampled_from(["10mbit", "1gbit", "100kbit", "96bit", "34gbit"])
LOSS = st.sampled_from(["1%", "0.5%", "100%", "0.0001%"])
NET = st.sampled_from(["198.18.0.0/24", "198.18.4.0/22", "198.19.8.0/30", "2001:2::/64"])
ADDRESS = st.sampled_from(["198.18.0.1/24", "198.18.0.2/24", "198.18.7.1/30", "2001:2::1/64", "auto", "none",
                           ["198.18.1.1/24", "2001:2:0:1::1/64"]])
MAC = st.sampled_from(["02:00:00:00:00:01", "02:aa:bb:cc:dd:ee"])
SYSCTLS = st.dictionaries(st.sampled_from(["net.ipv4.tcp_syncookies", "net.core.somaxconn",
                                           "net.ipv4.conf.all.rp_filter", "net.ipv4.conf.eth0.rp_filter"]),
                          st.one_of(st.integers(0, 2), st.sampled_from(["1", "128"])), max_size=2)

# Optional fields of each model, with values of their own kind: together, the model's shape.
ENDPOINT = {"interface": IFNAMES, "address": ADDRESS, "mac": MAC, "mtu": MTU}
IMPAIRMENTS = {"rate": RATE, "loss": LOSS, "delay": st.sampled_from(["10ms", "500us"])}
LINK = {**IMPAIRMENTS, "mtu": MTU, "subnet": NET, "pool": st.sampled_from(["p2p", "lan"])}
BRIDGE = {**IMPAIRMENTS, "address": ADDRESS, "gateway": st.booleans(), "subnet": NET,
          "pool": st.sampled_from(["lan", "p2p"]), "mtu": MTU, "stp": st.booleans(),
          "trunks": st.lists(st.sampled_from(["br0", "br1"]), max_size=2)}
ROUTE = {"to": st.sampled_from(["default", "198.18.9.0/24", "2001:2:9::/64"]), "metric": st.integers(0, 2**32 - 1),
         "dev": IFNAMES, "via": st.sampled_from(["198.18.0.1", "198.19.0.1", "2001:2::1"])}
NODE = {"kind": st.sampled_from(["netns", "host"]), "host": st.sampled_from(["a", "b", "c"]), "forwarding": st.booleans(), "sysctls": SYSCTLS,
        "exec": st.lists(st.sampled_from(["true", "ip link set lo up"]), max_size=2)}
DOCKER = {**{k: v for k, v in NODE.items() if k != "kind"}, "command": st.sampled_from(["sleep 1", ["sleep", "1"]]),
          "env": st.dictionaries(st.sampled_from(["A", "B"]), st.one_of(st.integers(0, 9), st.just("x")), max_size=2),
          "binds": st.lists(st.sampled_from(["/srv:/srv:ro", "/tmp:/data"]), max_size=1),
          "labels": st.dictionaries(st.sampled_from(["team", "role"]), st.just("lab"), max_size=1),
          "restart": st.sampled_from(["no", "always"])}
POOL = {"ipv4": st.sampled_from(["198.18.0.0/16", "198.19.0.0/16"]), "prefix": st.integers(8, 32),
        "ipv6": st.sampled_from(["2001:2::/48"]), "prefix6": st.integers(16, 128)}
NAT = {"source": st.sampled_from(["198.18.0.0/24"])}
HOST = {"ssh": st.sampled_from(["root@198.18.255.2", "b", "-x"]), "vxlan_port": st.integers(1, 65535),
        "netlab": st.sampled_from(["netlab", "/opt/netlab/bin/netlab"])}
UNDERLAY = st.sampled_from(["198.18.255.1", "198.18.255.2", "198.18.0.1", "2001:2:ff::1"])
TOP = {"defaults", "pools", "links", "bridges", "hosts"}  # besides the required name and nodes


def _optional(fields: dict, **required) -> st.SearchStrategy:
    return st.fixed_dictionaries(required, optional=fields)


def _endpoint(node: str) -> st.SearchStrategy:
    short = st.sampled_from([node, f"{node}:eth0", f"{node}:eth1"])
    long = _optional(ENDPOINT, node=st.just(node))
    text = _optional({k: v for k, v in ENDPOINT.items() if k != "interface"}, endpoint=st.just(f"{node}:eth3"))
    return st.one_of(short, long, text)


@st.composite
def topologies(draw) -> dict:
    nodes = NODES[:draw(st.integers(1, len(NODES)))]
    docker = _optional(DOCKER, kind=st.just("docker"), image=st.just("netlab/busybox"))
    out: dict = {"name": "lab", "nodes": {n: draw(st.one_of(st.none(), _optional(NODE), docker)) for n in nodes}}
    pairs = st.tuples(st.sampled_from(nodes), st.sampled_from(nodes)).filter(lambda p: p[0] != p[1])
    links = []
    for a, b in draw(st.lists(pairs, max_size=4)) if len(nodes) > 1 else []:
        ends = [draw(_endpoint(a)), draw(_endpoint(b))]
        links.append(ends if draw(st.booleans()) else draw(_optional(LINK, endpoints=st.just(ends))))
    if links:
        out["links"] = links
    if len(nodes) > 1 and draw(st.booleans()):
        members = draw(st.lists(st.sampled_from(nodes[1:]), unique=True, min_size=1))
        out["bridges"] = {"br0": draw(_optional(BRIDGE, node=st.just(nodes[0]),
                                                members=st.just([draw(_endpoint(m)) for m in members])))}
        if draw(st.booleans()):  # a second bridge, trunked to the first (or not: then a loop, itself, ...)
            out["bridges"]["br1"] = draw(_optional(BRIDGE, node=st.just(nodes[0])))
    if draw(st.booleans()):
        out["defaults"] = draw(_optional({"sysctls": SYSCTLS, "forwarding": st.booleans()}))
    if draw(st.booleans()):
        out["pools"] = {"lan": draw(_optional(POOL))}
    if draw(st.booleans()):  # spread over machines: cross-host links are tunnels
        out["hosts"] = {h: draw(_optional(HOST, underlay=UNDERLAY)) for h in ["a", "b"][:draw(st.integers(1, 2))]}
    node = out["nodes"][nodes[0]] = out["nodes"][nodes[0]] or {}  # routes and NAT (any kind has them)
    if draw(st.booleans()):
        node["routes"] = [draw(_optional(ROUTE))]
    if draw(st.booleans()):
        node["nat"] = [draw(st.one_of(_optional(NAT, type=st.just("masquerade"), out=IFNAMES),
                                      _optional(NAT, type=st.just("snat"), out=IFNAMES, to=st.just("203.0.113.1")),
                                      st.fixed_dictionaries({"type": st.just("dnat"), "in": IFNAMES,
                                                             "port": st.integers(1, 65535),
                                                             "to": st.just("198.18.0.2:80")},
                                                            optional={"proto": st.sampled_from(["tcp", "udp"])})))]
    return out


WRONG = st.one_of(
    st.text(max_size=8), st.integers(-2**70, 2**70), st.booleans(), st.floats(), st.none(),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["", "lo", "all", "auto", "none", "default", "198.18.0.1", "198.18.0.0/24", "2001:2::1/64",
                     "h0:eth0", "h0", "\n", "x" * 300, "-1", "0bit", "1e9999", "01:00:5e:00:00:01", "%", "10 ms",
                     {"node": "h0"}, {"type": "dnat"}, [["h0", "h1"]], [[], []], 10**400, 2**32, 65536, -1, 0.5]))


def _places(data, path=()) -> list[tuple]:
    out = [path]
    if isinstance(data, dict):
        for k, v in data.items():
            out += _places(v, path + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            out += _places(v, path + (i,))
    return out


def _at(data, path):
    for part in path:
        data = data[part]
    return data


@st.composite
def mutated(draw) -> dict:
    # copies: the strategies' own lists and mappings (sampled_from's) must not change under them
    data = copy.deepcopy(draw(topologies()))
    wrong = WRONG.map(copy.deepcopy)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(_places(data)))
        action = draw(st.sampled_from(["wrong", "wrong", "delete", "unknown"]))
        if not path:
            if action == "wrong":
                return draw(wrong)
            continue
        parent = _at(data, path[:-1])
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "unknown" and isinstance(_at(data, path), dict):
            _at(data, path)[draw(st.sampled_from(["colour", "Node", "mtuu", "5", ""]))] = draw(wrong)
        else:
            parent[path[-1]] = draw(wrong)
    return data


def answered(call) -> object | None:
    """The topology ``call`` returns, or None if it reported problems; anything else fails the test."""
    try:
        topo = call()
    except TopologyError as err:
        assert err.problems and all(isinstance(p, Problem) and p.message and p.field for p in err.problems)
        assert str(err)
        return None
    the_plan = plan.build(topo)  # whatever validation accepts, the planner can plan
    assert the_plan.lab == "lab" and len(the_plan.lines()) == len(the_plan.steps)
    return topo


@SETTINGS
@given(topologies())
def test_generated_topologies_validate_and_plan(data):
    answered(lambda: loader.load_data(data, "<generated>"))


@SETTINGS
@given(mutated())
def test_mutated_topologies_are_accepted_or_reported(data):
    answered(lambda: loader.load_data(data, "<mutated>"))
    try:
        text = yaml.safe_dump(data, allow_unicode=True)
    except (yaml.YAMLError, OverflowError):
        return
    answered(lambda: loader.load_text(text, "<mutated.yaml>"))


@SETTINGS
@given(topologies(), st.binary(max_size=12), st.integers(0, 400))
def test_any_bytes_are_read_or_reported(data, junk, at):
    raw = yaml.safe_dump(data).encode()
    at = min(at, len(raw))
    raw = raw[:at] + junk + raw[at:]
    answered(lambda: loader.load_text(source.decode(raw, "<bytes>"), "<bytes>"))


def test_strategies_cover_the_model():
    """A field added to the model must be generated here too (else the property never tries it)."""
    covered = {Endpoint: set(ENDPOINT) | {"node"}, Link: set(LINK) | {"endpoints"},
               Bridge: set(BRIDGE) | {"node", "members"}, Route: set(ROUTE), NodeSpec: set(NODE) | {"routes", "nat"},
               Pool: set(POOL), Masquerade: set(NAT) | {"type", "out"}, Snat: set(NAT) | {"type", "out", "to"},
               Dnat: {"type", "in_", "port", "to", "proto"}, Host: set(HOST) | {"underlay"}, DockerSpec: set(DOCKER) | {"kind", "image", "routes", "nat"},
               TopologyFile: TOP | {"name", "nodes"}}
    for model, fields in covered.items():
        assert set(model.model_fields) == fields, model.__name__
