"""Live changes to a running lab, measured with the kernel: a rate cap on a TCP stream,
loss on a ping burst, a link taken down stops traffic and up restores it — from the API
and from `netlab link` / `netlab impair`; status shows them, down removes everything."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

import netlab
from netlab.backend import features
from netlab.cli import app

from .helpers import TcpServer, tcp_stream_rate

pytestmark = pytest.mark.root


def pair(lab: str) -> netlab.Topology:
    return netlab.Topology(lab).node("a").node("b").link("a:eth0", "b:eth0")


def received(lab: netlab.Lab, count: int = 200) -> int:
    """Echo replies of a burst of ``count`` pings from a to b."""
    out = lab.exec("a", ["ping", "-q", "-c", str(count), "-i", "0.002", "-W", "1", lab.addr("b")], timeout=60).stdout
    return int(out.split(" received")[0].rsplit(" ", 1)[1])


def cli(*args: str) -> dict:
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_a_rate_cap_set_on_a_running_lab_caps_a_tcp_stream_and_reset_lifts_it(lab_name):
    with netlab.up(pair(lab_name)) as lab, TcpServer(lab_name, "b", 5201):
        free = tcp_stream_rate(lab_name, "a", lab.addr("b"), 5201, seconds=1.0)
        view = lab.link("a:eth0").set(rate="20mbit")
        assert view["rate"] == "20mbit" and view["state"] == "up"
        capped = tcp_stream_rate(lab_name, "a", lab.addr("b"), 5201, seconds=2.0)
        lab.link("a:eth0").reset()
        again = tcp_stream_rate(lab_name, "a", lab.addr("b"), 5201, seconds=1.0)
    assert 8e6 < capped < 26e6, f"{capped / 1e6:.1f} Mbit/s"
    assert free > 4 * capped and again > 4 * capped, (free, capped, again)


def test_loss_set_on_a_running_lab_drops_a_ping_burst(lab_name):
    with netlab.up(pair(lab_name)) as lab:
        assert lab.exec("a", ["ping", "-c1", "-W2", lab.addr("b")]).ok  # ARP resolved before the burst
        clean = received(lab)
        lab.link("a:eth0").set(loss="30%")  # what a sends: the requests, not the replies
        lossy = received(lab)
        lab.link("a:eth0").set(loss="1%")  # applied again, the new share replaces the old
        light = received(lab)
    assert clean >= 198, clean
    assert 110 <= lossy <= 170, lossy  # 70 % of 200 survive, ±4 σ
    assert light >= 185, light


def test_a_link_taken_down_stops_traffic_and_up_restores_it(lab_name):
    with netlab.up(pair(lab_name)) as lab:
        ping = ["ping", "-c1", "-W1", lab.addr("b")]
        assert lab.exec("a", ping).ok
        assert lab.link("b:eth0").down()["state"] == "down"
        assert not lab.exec("a", ping).ok
        a_eth0 = next(i for i in lab.status()["nodes"]["a"]["interfaces"] if i["name"] == "eth0")
        assert a_eth0["state"] != "UP"  # the other end lost carrier
        lab.link("b:eth0").up()
        # the ping while down left a's ARP entry INCOMPLETE, its next solicitation up to 1 s away
        assert lab.exec("a", ["ping", "-c1", "-W3", lab.addr("b")]).ok


def test_the_cli_changes_a_running_lab_and_status_shows_it(lab_name):
    with netlab.up(pair(lab_name)) as lab:
        assert lab.exec("a", ["ping", "-c1", "-W2", lab.addr("b")]).ok
        shown = cli("impair", lab_name, "a:eth0", "--rate", "10mbit", "--loss", "20%")
        assert (shown["rate"], shown["loss"], shown["peer"]) == ("10mbit", "20%", {"netns": f"nl.{lab_name}.b",
                                                                                  "interface": "eth0"})
        assert 110 <= received(lab) <= 200 - 20
        status = cli("status", lab_name)
        eth0 = {n: next(i for i in v["interfaces"] if i["name"] == "eth0") for n, v in status["nodes"].items()}
        assert eth0["a"]["impairments"] == {"rate": "10mbit", "loss": "20%"} and "impairments" not in eth0["b"]
        assert eth0["a"]["qdisc"] == "tbf"
        assert cli("impair", lab_name, "a:eth0", "--reset")["state"] == "up"
        assert "rate" not in cli("impair", lab_name, "a:eth0", "--show")
        assert cli("link", lab_name, "a:eth0", "down")["state"] == "down"
        assert not lab.exec("a", ["ping", "-c1", "-W1", lab.addr("b")]).ok
        assert cli("link", lab_name, "a:eth0", "up")["state"] == "up"
        assert lab.exec("a", ["ping", "-c1", "-W2", lab.addr("b")]).ok


def test_delay_needs_netem_and_a_refused_change_changes_nothing(lab_name):
    with netlab.up(pair(lab_name)) as lab:
        end = lab.link("a:eth0")
        end.set(loss="10%")
        with pytest.raises(netlab.NetlabError, match="'5x' is not a rate"):
            end.set(rate="5x")
        if features.probe(("qdisc:netem",))["qdisc:netem"] is None:
            end.set(delay="20ms")
            out = lab.exec("a", ["ping", "-c1", "-W2", lab.addr("b")]).stdout
            assert float(out.split("time=")[1].split()[0]) >= 20, out
            return
        with pytest.raises(netlab.FeatureMissing, match=r"qdisc:netem .*needed by: .*netem delay 20ms"):
            end.set(delay="20ms")
        assert end.show()["loss"] == "10%" and "delay" not in end.show()
        refused = CliRunner().invoke(app, ["impair", lab_name, "a:eth0", "--delay", "20ms"])
        assert refused.exit_code == 1 and "qdisc:netem" in refused.stderr


def test_down_removes_a_lab_changed_while_it_ran(lab_name, build):
    build(netlab.Topology("x").node("sw").node("h1").node("h2").bridge("br0", node="sw",
                                                                     members=["h1:eth0", "h2:eth0"]))
    lab = netlab.attach(lab_name)
    lab.link("h1:eth0").set(rate="5mbit", loss="2%")
    port = lab.link("h1:eth0").show()["peer"]["interface"]
    lab.link(f"sw:{port}").set(loss="3%")  # the bridge's side of h1's veth
    lab.link("h2:eth0").down()
    assert lab.down() == []
