"""Docker nodes, proved with the kernel and real traffic: a container started with
network_mode=none is plumbed like a netns node (bridge, NAT, DNAT), reported when it
dies, and removed by its labels — never another container."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from netlab import deploy, kinds, loader, names, state, status
from netlab import node as nodeexec
from netlab.backend import docker as engine
from netlab.backend import netns
from netlab.errors import NetlabError

from .dockerlab import busybox, docker_api, no_container_left  # noqa: F401  (fixtures)
from .helpers import TcpServer, ping

pytestmark = [pytest.mark.root, pytest.mark.docker, pytest.mark.usefixtures("no_container_left")]


def mixed(image: str) -> str:
    """A netns host and a docker node on one bridge (the bridge in its own namespace)."""
    return f"""
nodes:
  sw: {{}}
  h1: {{}}
  c1:
    kind: docker
    image: {image}
    env: {{GREETING: hello-from-c1}}
    labels: {{team: netlab-tests}}
    sysctls: {{net.ipv4.conf.all.rp_filter: 2}}
    exec: ["echo $GREETING > /tmp/greeting"]
bridges:
  br0: {{node: sw, subnet: 198.18.0.0/24, members: [h1:eth0, c1:eth0]}}
"""


def example(name: str) -> str:
    return (Path(__file__).parents[2] / "topologies" / f"{name}.yaml").read_text()


def in_container(lab: str, node: str, *argv: str) -> subprocess.CompletedProcess:
    return nodeexec.run(lab, node, list(argv), capture=True, timeout=30)


def test_docker_node_plumbed_on_a_bridge_with_a_netns_node(build, lab_name, busybox, docker_api):
    build(mixed(busybox))
    # real traffic both ways across the bridge
    assert ping(lab_name, "h1", "198.18.0.2", count=2)
    assert in_container(lab_name, "c1", "ping", "-c", "2", "-W", "2", "198.18.0.1").returncode == 0
    # `netlab exec` is `docker exec`: the image's file system and environment (exec after start ran)
    assert in_container(lab_name, "c1", "cat", "/tmp/greeting").stdout == b"hello-from-c1\n"
    assert in_container(lab_name, "c1", "cat", "/bin/busybox").returncode == 0
    # the namespace netlab named is the container's own: sysctls and addresses are there
    ns = names.netns(lab_name, "c1")
    c = docker_api.containers.get(names.container(lab_name, "c1"))
    assert engine.same_netns(ns, c.attrs["State"]["Pid"])
    assert in_container(lab_name, "c1", "cat", "/proc/sys/net/ipv4/conf/all/rp_filter").stdout == b"2\n"
    assert c.attrs["HostConfig"]["NetworkMode"] == "none"
    wanted = {"team": "netlab-tests", names.LABEL_LAB: lab_name, names.LABEL_NODE: "c1"}
    assert {k: c.labels.get(k) for k in wanted} == wanted
    view = status.lab_status(lab_name)["nodes"]["c1"]
    assert view["container_status"] == "running" and "error" not in view
    (eth0,) = [i for i in view["interfaces"] if i["name"] == "eth0"]
    assert eth0["addresses"][0] == "198.18.0.2/24" and eth0["state"] == "UP"
    deploy.down(lab_name)
    assert not engine.ours(docker_api, lab_name) and not netns.exists(ns)


def test_docker_node_behind_nat_reaches_the_outside(build, lab_name, busybox):
    build(example("docker-nat"))
    with TcpServer(lab_name, "outside", 9000) as server:
        # busybox nc inside the container, through the masquerading gateway
        out = in_container(lab_name, "app", "nc", "-w", "5", "203.0.113.2", "9000")
        assert out.stdout == b"hello\n", out
    # the outside world sees only the gateway's address, never 198.18.0.x
    assert server.peers == ["203.0.113.1"]
    # and one container reaches the other across the bridge (busybox wget to httpd)
    out = in_container(lab_name, "app", "wget", "-qO-", "http://198.18.0.2/")
    assert out.stdout == b"hello from a container behind NAT\n", out


def test_dnat_forwards_to_a_container_port(build, lab_name, busybox):
    build(example("docker-nat"))
    # busybox httpd in `web` answers a request sent to the gateway's 8080 from outside
    with nodeexec.inside(lab_name, "outside"):
        conn = http.client.HTTPConnection("203.0.113.1", 8080, timeout=5)
        conn.connect()
    try:
        conn.request("GET", "/")
        reply = conn.getresponse()
        assert (reply.status, reply.read()) == (200, b"hello from a container behind NAT\n")
    finally:
        conn.close()
    assert status.lab_status(lab_name)["nodes"]["web"]["container_status"] == "running"


def test_down_removes_only_the_labs_containers(build, lab_name, busybox, docker_api):
    tag = uuid.uuid4().hex[:8]
    bystanders = [docker_api.containers.run(busybox, name=f"dk-bystander-{tag}", detach=True, network_mode="none"),
                  docker_api.containers.run(busybox, name=f"dk-otherlab-{tag}", detach=True, network_mode="none",
                                            labels=engine.lab_labels(f"dk{tag}", "c1"))]
    try:
        build(mixed(busybox))
        assert [c.name for c in engine.ours(docker_api, lab_name)] == [names.container(lab_name, "c1")]
        deploy.down(lab_name)
        assert not engine.ours(docker_api, lab_name)
        for c in bystanders:
            c.reload()
            assert c.status == "running", c.name
    finally:
        for c in bystanders:
            c.remove(force=True)


def test_missing_image_fails_before_anything_is_built(lab_name, busybox, docker_api):
    absent = f"netlab-absent-{uuid.uuid4().hex[:8]}:nope"
    topo = loader.load_text(f"name: {lab_name}\n" + mixed(busybox).replace(busybox, absent), "<test>")
    with pytest.raises(NetlabError, match=absent):
        deploy.up(topo)
    assert not state.exists(lab_name)
    assert not [ns for ns in netns.listing() if ns.startswith(f"nl.{lab_name}.")]
    assert not engine.ours(docker_api, lab_name)


def test_a_container_dying_under_the_lab_is_reported_and_down_still_cleans(build, lab_name, busybox, docker_api):
    build(mixed(busybox))
    c = docker_api.containers.get(names.container(lab_name, "c1"))
    c.restart(timeout=0)  # a new process: a new network namespace, without the lab's eth0
    assert "restarted" in status.lab_status(lab_name)["nodes"]["c1"]["error"]
    c.kill()
    c.wait(timeout=10)
    view = status.lab_status(lab_name)["nodes"]["c1"]
    assert view["container_status"] == "exited" and "exited" in view["error"]
    assert not deploy.down(lab_name)
    assert not engine.ours(docker_api, lab_name)


def test_kill_9_during_up_then_down_removes_the_container(tmp_path, lab_name, busybox, docker_api):
    # the last step (exec after start) blocks; netlab is killed there with everything else built
    text = f"name: {lab_name}\n" + mixed(busybox).replace('exec: ["echo', 'exec: ["sleep 60; echo')
    (tmp_path / "lab.yaml").write_text(text)
    proc = subprocess.Popen([sys.executable, "-m", "netlab", "up", str(tmp_path / "lab.yaml")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while time.time() < deadline and not _execing(lab_name):
            time.sleep(0.2)
        assert _execing(lab_name), "up never reached its last step"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert state.read(lab_name).status == "building"
    assert not deploy.down(lab_name)
    assert not engine.ours(docker_api, lab_name)


def test_down_after_a_kill_between_run_and_attach(lab_name, busybox, docker_api):
    """The record lists steps never taken: undoing them tolerates their absence."""
    from netlab import plan as planning
    from netlab.backend.docker import DockerBackend

    the_plan = planning.build(loader.load_text(f"name: {lab_name}\n" + mixed(busybox), "<test>"))
    state.write(the_plan, "building", {"kinds": {"sw": "netns", "h1": "netns", "c1": "docker"}})
    (run,) = [s for s in the_plan.steps if s.op == "docker.run"]
    backend = DockerBackend(docker_api)
    backend.run("docker.run", [run.args])  # the container exists; its namespace is not named yet
    assert engine.ours(docker_api, lab_name)
    assert not deploy.down(lab_name)
    assert not engine.ours(docker_api, lab_name)


def _execing(lab: str) -> bool:
    """True once `up` runs the node's exec command (the container is up and plumbed)."""
    ns = names.netns(lab, "c1")
    if not (state.exists(lab) and netns.exists(ns)):
        return False
    out = subprocess.run(["pgrep", "-f", f"exec {names.container(lab, 'c1')} sh -c sleep"], capture_output=True)
    return out.returncode == 0


def test_a_container_that_exits_at_once_rolls_the_lab_back(lab_name, busybox, docker_api):
    failing = '    command: "sh -c \'echo no luck; exit 3\'"\n    env:'
    text = f"name: {lab_name}\n" + mixed(busybox).replace("    env:", failing)
    # caught when its namespace is named, or (had it lived a moment longer) by `docker exec` of its exec step
    with pytest.raises(NetlabError, match=r"(exited \(exit code 3\): no luck|is not running).*undone"):
        deploy.up(loader.load_text(text, "<test>"))
    assert not state.exists(lab_name) and not engine.ours(docker_api, lab_name)
    assert not [ns for ns in netns.listing() if ns.startswith(f"nl.{lab_name}.")]


def test_down_all_sweep_removes_netlab_containers_only(busybox, docker_api):
    running = engine.ours(docker_api)
    if running:
        pytest.skip(f"other labs' containers are running ({running[0].name}…): the sweep would remove them")
    tag = uuid.uuid4().hex[:8]
    orphan = docker_api.containers.run(busybox, name=f"nl.dk{tag}.c1", detach=True, network_mode="none",
                                       labels=engine.lab_labels(f"dk{tag}", "c1"))  # its lab's record is lost
    bystander = docker_api.containers.run(busybox, name=f"dk-bystander-{tag}", detach=True, network_mode="none",
                                          labels={"netlab": "not a lab label"})
    try:
        assert kinds.kind("docker").sweep(None) == []
        assert not engine.container_exists(docker_api, orphan.name)
        bystander.reload()
        assert bystander.status == "running"
    finally:
        for c in (orphan, bystander):
            if engine.container_exists(docker_api, c.name):
                c.remove(force=True)


def test_down_without_the_state_record_removes_the_labs_containers(lab_name, busybox, docker_api):
    topo = loader.load_text(f"name: {lab_name}\n" + mixed(busybox), "<test>")
    deploy.up(topo)
    os.unlink(names.state_file(lab_name))  # as if /run/netlab was lost
    assert deploy.down(lab_name) == []
    assert not engine.ours(docker_api, lab_name)
