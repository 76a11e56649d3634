"""Values built the fast way are the values the standard library builds."""

from __future__ import annotations

import ipaddress
import pickle
from typing import Annotated

from hypothesis import given, settings, strategies as st
from pydantic import StringConstraints, TypeAdapter, ValidationError

from netlab import ipv4, values


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_a_v4_interface_is_what_the_constructor_makes(ip, plen):
    mine, theirs = values.v4_interface(ip, plen), ipaddress.IPv4Interface((ip, plen))
    assert values.v4_interface is ipv4._made  # this Python's ipaddress allows the fast way
    assert mine == theirs and hash(mine) == hash(theirs) and vars(mine) == vars(theirs)
    assert (str(mine), mine.ip, mine.network, mine.with_prefixlen) == (str(theirs), theirs.ip, theirs.network,
                                                                        theirs.with_prefixlen)
    assert mine.network.broadcast_address == theirs.network.broadcast_address and mine in mine.network
    assert vars(mine.network).keys() == vars(theirs.network).keys() and hash(mine.network) == hash(theirs.network)
    assert (mine.network.network_address, mine.network.netmask, mine.network.prefixlen) == (
        theirs.network.network_address, theirs.network.netmask, theirs.network.prefixlen)
    if plen >= 24:
        assert list(mine.network.hosts()) == list(theirs.network.hosts())
    assert pickle.loads(pickle.dumps(mine)) == theirs


@given(st.integers(0, 2**32 - 1), st.integers(0, 32))
def test_an_address_as_text_reads_as_ipaddress_reads_it(ip, plen):
    text = f"{ipaddress.IPv4Address(ip)}/{plen}"
    assert ipv4._PTON is not None  # this C library's inet_pton is strict: ipv4.read reads the text
    assert values._interface(text) == ipaddress.ip_interface(text) and vars(values._interface(text)) == vars(
        ipaddress.ip_interface(text))
    assert str(values._interface(text)) == text


def test_interfaces_on_one_network_share_it_and_stay_apart():
    a, b = values.v4_interface(0xC6120001, 30), values.v4_interface(0xC6120002, 30)
    assert a.network is b.network and a != b and a.ip != b.ip
    assert str(a) == "198.18.0.1/30" and str(b) == "198.18.0.2/30"


_NUMBER = st.integers(0, 999).map(str) | st.sampled_from(["00", "01", "007", "0024", "256", "9" * 30])


@given(st.tuples(_NUMBER, _NUMBER, _NUMBER, _NUMBER), _NUMBER)
def test_dotted_text_is_accepted_exactly_where_ipaddress_accepts_it(octets, plen):
    """The quick answers for an IPv4 address out of range (values._V4_LOOSE) refuse
    nothing ipaddress accepts, and say what is out of range."""
    text = ".".join(octets) + "/" + plen
    try:
        theirs = ipaddress.ip_interface(text)
    except ValueError:
        theirs = None
    try:
        mine = values._interface(text)
    except ValueError as exc:
        assert theirs is None, (text, exc)
        assert text in str(exc)
        if int(plen) > 32:
            assert "prefix length is 0..32" in str(exc)
        return
    assert mine == theirs


_V4_NET = st.builds(lambda ip, plen: ipaddress.ip_network((ip >> (32 - plen) << (32 - plen), plen)),
                    st.integers(0, 2**32 - 1), st.integers(0, 32))
_V6_NET = st.builds(lambda ip, plen: ipaddress.ip_network((ip >> (128 - plen) << (128 - plen), plen)),
                    st.integers(0, 2**128 - 1), st.integers(0, 128))


@given(st.lists(_V4_NET | _V6_NET, max_size=20),
       st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address) | st.integers(0, 2**128 - 1).map(ipaddress.IPv6Address),
       st.integers(0, 19))
def test_on_a_subnet_is_what_asking_each_network_says(networks, address, pick):
    """resolve._on_any (a set per prefix length) against `address in network` for each."""
    from netlab.resolve import _on_any

    if networks and pick < len(networks) and networks[pick].version == address.version:
        net = networks[pick]  # an address inside one of them, as often as not
        address = net.network_address + int(address) % net.num_addresses
    assert _on_any(networks)(address) == any(address in n for n in networks)


_NAMEISH = st.lists(st.sampled_from(list("aZ09_-.:/ \n\té") + ["lo", "all", "default", "eth0"]), max_size=20).map("".join)


_EDGES = ["", "\n", "lo", "lo\n", "l", "lox", "all", "al", "alll", "default", "defaul", "defaultx", "Default",
          "a" * 14 + "\n", "a" * 15, "a" * 15 + "\n", "a" * 16, "h" * 32, "h" * 33, "h" * 32 + "\n", "eth0\n\n",
          ".a", "-a", "_a", "a.b-c", "1a", "é", "a b", "a\x00"]


@settings(max_examples=400)
@given(st.sampled_from(sorted(values.EXPLAINED)), _NAMEISH | st.text(max_size=40))
def test_a_pattern_checked_in_pydantic_core_accepts_what_its_check_accepts(pattern, text):
    """values._in_core: the core's pattern refuses exactly what the Python check refuses
    (whose message the problem then shows)."""
    _agree(pattern, text)


def test_a_pattern_checked_in_pydantic_core_agrees_with_its_check_at_the_edges():
    for pattern in values.EXPLAINED:
        for text in _EDGES:
            _agree(pattern, text)


def _agree(pattern: str, text: str) -> None:
    try:
        values.EXPLAINED[pattern](text)
        theirs = True
    except ValueError:
        theirs = False
    try:
        TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)]).validate_python(text)
        mine = True
    except ValidationError:
        mine = False
    assert mine == theirs, (pattern, text)
