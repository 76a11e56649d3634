"""What only the kernel can tell is asked before `up` changes anything: the
answer names file:line:col and field, and the machine is left as it was."""

from __future__ import annotations

import subprocess
import uuid

import pytest
from typer.testing import CliRunner

from netlab import deploy, loader, state
from netlab import node as nodeexec
from netlab.cli import app
from netlab.errors import TopologyError

from .helpers import ping

pytestmark = pytest.mark.root
runner = CliRunner()


def test_sysctls_a_child_namespace_lacks_or_refuses_are_named_before_any_change(tmp_path, lab_name):
    # Measured on this kernel: net.core.netdev_max_backlog is absent from a child
    # namespace, net.core.rmem_max is read-only there, tcp_syncookies takes no text.
    topo = tmp_path / "t.yaml"
    topo.write_text(f"name: {lab_name}\n"
                    "defaults:\n"
                    "  sysctls: {net.core.netdev_max_backlog: 2000}\n"
                    "nodes:\n"
                    "  a:\n"
                    "    sysctls: {net.core.rmem_max: 4194304, net.ipv4.tcp_syncookies: sometimes}\n"
                    "  b: {}\n"
                    "links: [[a, b]]\n")
    result = runner.invoke(app, ["up", str(topo)])
    assert result.exit_code == 2, result.output
    out = " ".join(result.output.split())
    assert f"{topo}:3:13: defaults.sysctls.net.core.netdev_max_backlog: this kernel has no such sysctl" in out
    assert f"{topo}:6:15: nodes.a.sysctls.net.core.rmem_max: read-only in a lab node's namespace" in out
    assert "nodes.a.sysctls.net.ipv4.tcp_syncookies: this kernel refuses the value 'sometimes'" in out
    assert "Traceback" not in out and not state.exists(lab_name)  # lab_name's fixture: no namespace left


def test_an_interfaces_own_sysctl_is_set_once_the_interface_exists(build, lab_name):
    build("nodes:\n  a: {sysctls: {net.ipv4.conf.eth0.rp_filter: 2, net.ipv6.conf.eth0.disable_ipv6: 1}}\n  b: {}\n"
          "links: [{endpoints: [{node: a, address: 198.18.0.1/24}, {node: b, address: 198.18.0.2/24}]}]\n")
    got = nodeexec.run(lab_name, "a", ["cat", "/proc/sys/net/ipv4/conf/eth0/rp_filter",
                                       "/proc/sys/net/ipv6/conf/eth0/disable_ipv6"], capture=True).stdout.split()
    assert got == [b"2", b"1"]
    assert ping(lab_name, "a", "198.18.0.2")


def test_a_host_node_interface_the_host_already_has_is_named_before_any_change(lab_name):
    taken = f"nlx{uuid.uuid4().hex[:8]}"  # a veth of this test's own in the host's namespace
    subprocess.run(["ip", "link", "add", taken, "type", "veth", "peer", "name", taken + "p"], check=True)
    try:
        topo = loader.load_text(f"name: {lab_name}\nnodes:\n  me: {{kind: host}}\n  h: {{}}\n"
                                f"links:\n  - [me:{taken}, h:eth0]\n", "host.yaml")
        with pytest.raises(TopologyError) as info:
            deploy.up(topo)
        (problem,) = info.value.problems
        assert str(problem) == (f"host.yaml:6:6: links[0].endpoints[0].interface: the real host already has an "
                                f"interface {taken!r}; choose another name")
        assert not state.exists(lab_name)
    finally:
        subprocess.run(["ip", "link", "del", taken], check=True)
