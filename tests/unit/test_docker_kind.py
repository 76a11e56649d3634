"""The docker kind without an engine or root: its spec, its plan, and how ops are routed."""

from __future__ import annotations

import pytest

from netlab import kinds, loader, names, plan, schema
from netlab.backend.composite import CompositeBackend
from netlab.errors import TopologyError
from netlab.kinds.docker import DockerSpec

LAB = """\
name: dk
nodes:
  sw: {}
  h1: {}
  web:
    kind: docker
    image: nginx:1.25
    command: [nginx, -g, daemon off;]
    env: {MODE: lab}
    binds: [/srv/www:/usr/share/nginx/html:ro]
    labels: {team: web}
    sysctls: {net.core.somaxconn: 1024}
    exec: [echo ready]
bridges:
  br0: {node: sw, members: [h1:eth0, web:eth0]}
"""

GOLDEN = """\
ip netns add nl.dk.sw
ip netns add nl.dk.h1
ip -n nl.dk.sw link set lo alias netlab:dk:sw up
ip -n nl.dk.h1 link set lo alias netlab:dk:h1 up
docker run -d --name nl.dk.web --network none nginx:1.25 nginx -g daemon off;
ip netns attach nl.dk.web <pid of container nl.dk.web>
ip -n nl.dk.web link set lo alias netlab:dk:web up
ip netns exec nl.dk.web sysctl -w net.ipv6.conf.all.disable_ipv6=0
ip netns exec nl.dk.web sysctl -w net.ipv6.conf.default.disable_ipv6=0
ip netns exec nl.dk.web sysctl -w net.core.somaxconn=1024"""


def test_docker_is_a_registered_kind():
    assert isinstance(kinds.kind("docker").spec(image="x"), DockerSpec)


def test_spec_is_read_with_every_docker_field():
    spec = loader.load_text(LAB).nodes["web"]
    assert isinstance(spec, DockerSpec)
    assert (spec.image, spec.command, dict(spec.env), spec.binds, dict(spec.labels)) == (
        "nginx:1.25", ("nginx", "-g", "daemon off;"), {"MODE": "lab"}, ("/srv/www:/usr/share/nginx/html:ro",),
        {"team": "web"})


@pytest.mark.parametrize("body, field, message", [
    ("{kind: docker}", "nodes.web.image", "required field is missing"),
    ("{kind: docker, image: x, binds: [www:/www]}", "nodes.web.binds", "not a bind"),
    ("{kind: docker, image: x, binds: [/srv:www]}", "nodes.web.binds", "not a bind"),
    ("{kind: docker, image: x, labels: {netlab.lab: other}}", "nodes.web.labels.netlab.lab", "netlab's own label"),
    ("{kind: docker, image: x, ports: [80]}", "nodes.web.ports", "unknown field"),
    ("{kind: docker, image: x, restart: sometimes}", "nodes.web.restart", "should be one of: 'no'"),
])
def test_bad_docker_nodes_are_reported_with_the_field(body, field, message):
    with pytest.raises(TopologyError) as err:
        loader.load_text(f"name: dk\nnodes:\n  web: {body}\n", "t.yaml")
    (problem,) = err.value.problems
    assert problem.field == field and message in problem.message and problem.line == 3


def test_plan_starts_the_container_then_names_and_plumbs_its_namespace():
    the_plan = plan.build(loader.load_text(LAB))
    assert "\n".join(the_plan.lines()[:10]) == GOLDEN
    assert names.netns("dk", "web") in the_plan.namespaces()
    veth = [s for s in the_plan.steps if s.op == "link.veth" and s.args["ns"] == "nl.dk.web"]
    assert veth and veth[0].args["name"] == "eth0"  # plumbed exactly as a netns node
    run = the_plan.steps[4]
    assert (run.op, run.undo, run.scope) == ("docker.run", "docker.remove", None)
    assert run.args["labels"] == {"team": "web"} and run.args["env"] == {"MODE": "lab"}
    attach = the_plan.steps[5]
    assert (attach.op, attach.undo) == ("netns.attach", "netns.delete")


def test_every_docker_object_has_an_inverse_or_a_namespace_that_holds_it():
    the_plan = plan.build(loader.load_text(LAB))
    namespaces = set(the_plan.namespaces())
    for step in the_plan.steps:
        assert step.undo or step.scope in namespaces, step


def test_exec_is_docker_exec_in_the_container():
    ns, argv = kinds.kind("docker").exec_argv("dk", "web", ["cat", "/etc/hostname"])
    assert ns is None and argv[1:] == ["exec", "nl.dk.web", "cat", "/etc/hostname"]


def test_schema_offers_the_docker_fields():
    nodes = schema.topology_schema()["properties"]["nodes"]["additionalProperties"]["anyOf"]
    docker = [s for s in nodes if "image" in s.get("properties", {})]
    assert docker and "image" in docker[0]["required"]


class Recorder:
    """A backend that records what it is asked to run."""

    def __init__(self, name: str, calls: list) -> None:
        self.name, self.calls = name, calls

    def run(self, op, batch):
        self.calls.append((self.name, op, len(batch)))

    def close(self):
        self.calls.append((self.name, "close", 0))


def test_composite_routes_ops_and_makes_each_backend_once_on_first_use():
    calls: list = []
    made: list = []

    def docker_backend():
        made.append(1)
        return Recorder("docker", calls)

    backend = CompositeBackend(Recorder("kernel", calls), {"docker.": docker_backend, "netns.attach": docker_backend})
    backend.run("netns.create", [{}])
    assert not made  # a lab without containers never needs an engine
    for op in ("docker.run", "netns.attach", "netns.mark", "docker.remove"):
        backend.run(op, [{}, {}])
    backend.close()
    assert [c[:2] for c in calls] == [("kernel", "netns.create"), ("docker", "docker.run"), ("docker", "netns.attach"),
                                      ("kernel", "netns.mark"), ("docker", "docker.remove"), ("docker", "close"),
                                      ("kernel", "close")]
    assert len(made) == 1
