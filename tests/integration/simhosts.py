"""Simulated machines on this one, for multi-host labs.

Each host is a network namespace (its "root" namespace) with one interface on an
underlay: a bridge in a namespace of its own, on 198.18.255.0/24 (inside RFC 2544's
198.18.0.0/15; the underlay addresses are reserved from the lab's pools by the
loader). Each host runs netlab in its own mount namespace, held open by a sleeping
process, with a tmpfs over /run (so /run/netns, /run/netlab and sshd's /run/sshd)
and its own sysfs: its labs' namespaces and records are its own, as on a separate
machine, and vanish with it. ``sshd`` starts an ssh server on a host's underlay
address, with keys made for the test, as a host that netlab drives over ssh.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

UNDERLAY = "198.18.255"
NETLAB = str(Path(sys.executable).with_name("netlab"))  # the worktree's, beside the test's python
# mount the private views, say so, and wait; killed, the mount namespace and what it holds go
_HOLD = ("mount -t tmpfs none /run && mkdir -p /run/netns /run/netlab /run/sshd && mount -t sysfs none /sys"
         " && echo ready && exec sleep infinity")


@dataclass
class SimHost:
    name: str
    address: str
    netns: str
    holder: subprocess.Popen | None = None
    daemons: list[subprocess.Popen] = field(default_factory=list)

    def argv(self, argv: list[str]) -> list[str]:
        """``argv`` run on this host: in its network and mount namespaces."""
        return ["nsenter", "-t", str(self.holder.pid), "-m", "-n", *argv]

    def run(self, argv: list[str], timeout: float = 60, check: bool = False, env: dict | None = None,
            text: str | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(self.argv(argv), capture_output=True, text=True, timeout=timeout, check=check,
                              env=None if env is None else {**os.environ, **env}, input=text)

    def netlab(self, *args: str, timeout: float = 90, env: dict | None = None,
               text: str | None = None) -> subprocess.CompletedProcess:
        return self.run([NETLAB, *args], timeout=timeout, env=env, text=text)

    def leftovers(self) -> list[str]:
        """What of any lab is on this host: namespaces, records, links beyond the underlay's."""
        found = [f"netns {n}" for n in self.run(["ls", "/run/netns"]).stdout.split()]
        found += [f"record {n}" for n in self.run(["ls", "/run/netlab"]).stdout.split()]
        links = self.run(["ip", "-o", "link", "show"]).stdout.splitlines()
        found += [f"link {line.split(': ')[1]}" for line in links if line.split(": ")[1].split("@")[0] not in
                  ("lo", "up0")]
        return found


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def hosts(count: int = 2) -> Iterator[list[SimHost]]:
    """``count`` hosts (a, b, ...) on one underlay; all of them removed on the way out, whatever happened."""
    tag = uuid.uuid4().hex[:6]
    wire = f"mhu-{tag}"
    made = [SimHost(chr(ord("a") + i), f"{UNDERLAY}.{i + 1}", f"mhh-{tag}-{chr(ord('a') + i)}")
            for i in range(count)]
    try:
        _ip("netns", "add", wire)
        _ip("-n", wire, "link", "add", "wire", "type", "bridge")
        _ip("-n", wire, "link", "set", "wire", "up")
        for i, h in enumerate(made):
            _ip("netns", "add", h.netns)
            _ip("-n", h.netns, "link", "set", "lo", "up")
            _ip("-n", h.netns, "link", "add", "up0", "type", "veth", "peer", "name", f"p{i}", "netns", wire)
            _ip("-n", wire, "link", "set", f"p{i}", "master", "wire", "up")
            _ip("-n", h.netns, "addr", "add", f"{h.address}/24", "dev", "up0")
            _ip("-n", h.netns, "link", "set", "up0", "up")
            h.holder = subprocess.Popen(["nsenter", f"--net=/run/netns/{h.netns}", "unshare", "-m",
                                         "--propagation", "private", "sh", "-c", _HOLD],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if h.holder.stdout.readline().strip() != "ready":
                raise RuntimeError(f"host {h.name} did not start: {h.holder.stderr.read()}")
        yield made
    finally:
        for h in made:
            for p in [*h.daemons, h.holder]:
                if p is not None and p.poll() is None:
                    p.send_signal(signal.SIGTERM)
                    try:
                        p.wait(5)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
        for ns in [h.netns for h in made] + [wire]:
            subprocess.run(["ip", "netns", "delete", ns], capture_output=True)


def wait_port(host: SimHost, port: int, timeout: float = 10) -> None:
    """Until something listens on ``port`` on ``host``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if f":{port} " in host.run(["ss", "-Hltn"]).stdout:
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} of host {host.name}")


def has(tool: str) -> bool:
    return shutil.which(tool) is not None or os.path.exists(tool)


# A TCP receiver that prints its peer and how much it read; a sender that connects
# (retrying while the receiver starts) and writes ``size`` bytes. Plain sockets in the
# node's namespace, run with `netlab exec` on the node's host.
_RECEIVER = ("import socket,sys\ns=socket.create_server(('0.0.0.0',int(sys.argv[1])));s.settimeout(20)\n"
             "c,p=s.accept();c.settimeout(20);n=0\nwhile (d:=c.recv(65536)): n+=len(d)\nprint(p[0],n)")
_SENDER = ("import socket,sys,time\nfor _ in range(100):\n  try: c=socket.create_connection((sys.argv[1],"
           "int(sys.argv[2])),timeout=5); break\n  except OSError: time.sleep(0.05)\n"
           "c.sendall(b'x'*int(sys.argv[3]));c.close()")


def stream(lab: str, server: tuple[SimHost, str], client: tuple[SimHost, str], address: str,
           size: int = 4 << 20, port: int = 5001, env: dict | None = None) -> tuple[str, int]:
    """Send ``size`` bytes over TCP from ``client`` to ``address`` of ``server`` (each a
    node, and the host whose `netlab exec` runs it); (the peer the server saw, the bytes it read)."""
    (shost, snode), (chost, cnode) = server, client
    receiver = subprocess.Popen(shost.argv([NETLAB, "exec", lab, snode, "--", "python3", "-c", _RECEIVER, str(port)]),
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=None if env is None else {**os.environ, **env})
    try:
        sent = chost.netlab("exec", lab, cnode, "--", "python3", "-c", _SENDER, address, str(port), str(size),
                            timeout=30, env=env)
        out, err = receiver.communicate(timeout=30)
    finally:
        if receiver.poll() is None:
            receiver.kill()
            receiver.wait()
    assert sent.returncode == 0, sent.stderr
    assert receiver.returncode == 0, err
    peer, got = out.split()
    return peer, int(got)


def ping(host: SimHost, lab: str, node: str, address: str, size: int = 56, env: dict | None = None) -> bool:
    """One ping (``size`` bytes of payload, not fragmented) from ``node``, run by ``host``'s netlab."""
    argv = ["exec", lab, node, "--", "ping", "-c", "1", "-W", "2", "-M", "do", "-s", str(size), address]
    return host.netlab(*argv, env=env).returncode == 0


SSHD = "/usr/sbin/sshd"


def sshd(host: SimHost, keys: Path) -> None:
    """An ssh server on ``host``'s underlay address, port 22, taking the key in ``keys``
    (made by ``ssh_keys``); stopped with the host."""
    config = keys / f"sshd-{host.name}.conf"
    config.write_text(f"""ListenAddress {host.address}
HostKey {keys}/host
AuthorizedKeysFile {keys}/client.pub
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
""")
    host.daemons.append(subprocess.Popen(host.argv([SSHD, "-D", "-e", "-f", str(config)]),
                                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    wait_port(host, 22)


def ssh_keys(where: Path, hosts: list[SimHost]) -> str:
    """A host key and a client key in ``where``, the hosts' key in a known_hosts of its
    own; the ssh command (NETLAB_SSH_COMMAND) that uses them and nothing of the user's."""
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(where / name)], check=True)
    public = (where / "host.pub").read_text().split()[:2]
    (where / "known_hosts").write_text("".join(f"{h.address} {' '.join(public)}\n" for h in hosts))
    return (f"ssh -F /dev/null -i {where}/client -o UserKnownHostsFile={where}/known_hosts "
            "-o StrictHostKeyChecking=yes -o ConnectTimeout=3")
