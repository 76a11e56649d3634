"""Changes to a lab that is up: a link taken down and up again, its impairments
set or reset — what `netlab link` and `netlab impair` do, and ``Lab.link(...)``.

An interface's impairments are what it does to the packets it sends, as tc(8)
and containerlab's `tools netem` mean them: rate (tbf on the interface), delay
(netem on the interface, where the kernel has it) and loss (the nftables numgen
drop rule netlab uses for a file's `loss`, on the ingress of the veth's other
end). A file's link-level `rate`, `loss` and `delay` set both ends; a live change
sets one, so the two directions can differ.

Each change is a plan step run through the lab's backend, checked against the
kernel's features first, and recorded in the lab's state (``extra["live"]``), so
`status` shows it. Everything a change touches lives in the lab's veth ends, so
`down` removes it with them.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

from pydantic import ValidationError

from netlab import deploy, executor, kinds, state
from netlab.errors import NetlabError
from netlab.model import Impairments
from netlab.state import LabState
from netlab.step import Step

IMPAIRMENTS = ("rate", "loss", "delay")


@dataclass(frozen=True)
class End:
    """One end of one of the lab's veth pairs, and the end it is wired to."""

    node: str
    name: str
    ns: str | None
    peer_ns: str | None
    peer_name: str

    @property
    def endpoint(self) -> str:
        return f"{self.node}:{self.name}"


def ends(record: LabState) -> dict[str, End]:
    """Every veth end of the lab by ``node:interface``."""
    node_of = {kinds.kind(k).netns(record.lab, n): n for n, k in record.extra.get("kinds", {}).items()}
    out: dict[str, End] = {}
    for s in record.steps:
        if s.op != "link.veth":
            continue
        a = s.args
        for ns, name, peer_ns, peer_name in ((a["ns"], a["name"], a["peer_ns"], a["peer_name"]),
                                             (a["peer_ns"], a["peer_name"], a["ns"], a["name"])):
            if ns in node_of:
                end = End(node_of[ns], name, ns, peer_ns, peer_name)
                out[end.endpoint] = end
    return out


def _planned(record: LabState, wanted: End) -> dict[str, str]:
    """The impairments the lab's plan gave ``wanted`` (the file's, before any live change)."""
    out: dict[str, str] = {}
    for s in record.steps:
        here = (s.args.get("ns"), s.args.get("dev")) == (wanted.ns, wanted.name)
        if here and s.op == "qdisc.tbf":
            out["rate"] = s.args["rate"]
        elif here and s.op == "qdisc.netem":
            out["delay"] = s.args["delay"]
        elif s.op == "loss.apply" and (s.args["ns"], s.args["dev"]) == (wanted.peer_ns, wanted.peer_name):
            out["loss"] = s.args["loss"]  # the peer drops on arrival what this end sends
    return out


def current(record: LabState, end: End) -> dict:
    """``state`` ("up" or "down") and the impairments of ``end`` now: the plan's, then the live changes."""
    live = record.extra.get("live", {}).get(end.endpoint, {})
    now = {"state": "up", **_planned(record, end), **live}
    return {k: v for k, v in now.items() if v is not None}


def _steps(end: End, old: dict, new: dict) -> list[Step]:
    """The steps that take ``end`` from the impairments ``old`` to ``new``."""
    steps = []
    qdisc = ("rate", "delay")
    if any(old.get(k) != new.get(k) for k in qdisc):
        if new.get("rate"):
            steps.append(Step("qdisc.tbf", {"ns": end.ns, "dev": end.name, "rate": new["rate"]}, scope=end.ns))
        elif new.get("delay"):
            steps.append(Step("qdisc.netem", {"ns": end.ns, "dev": end.name, "delay": new["delay"]}, scope=end.ns))
        else:
            steps.append(Step("qdisc.delete", {"ns": end.ns, "dev": end.name}, scope=end.ns))
    if old.get("loss") != new.get("loss"):
        if end.peer_ns is None:
            raise NetlabError(f"{end.endpoint}: its other end is in the real host's namespace, whose firewall "
                              "netlab never changes: set loss from the other end's side")
        where = {"ns": end.peer_ns, "dev": end.peer_name}
        steps.append(Step("loss.apply", {**where, "loss": new["loss"]}, scope=end.peer_ns) if new.get("loss")
                     else Step("loss.delete", where, scope=end.peer_ns))
    return steps


def _run(steps: list[Step]) -> None:
    backend = deploy.lab_backend()
    try:
        executor.apply(steps, backend)
    finally:
        backend.close()


def _checked(endpoint: str, values: dict) -> dict:
    """``values`` checked as a topology file's link impairments are, with the same messages."""
    try:
        model = Impairments(**values)
    except ValidationError as err:
        said = []
        for e in err.errors():
            field = ".".join(map(str, e["loc"]))
            said.append(f"{field + ': ' if field else ''}{e['msg'].removeprefix('Value error, ')}")
        raise NetlabError(f"{endpoint}: {'; '.join(said)}") from None
    return {k: getattr(model, k) for k in IMPAIRMENTS if getattr(model, k) is not None}


class Link:
    """One end of a link of a lab that is up, named ``node:interface``: take it down and
    up, change what it does to the packets it sends."""

    def __init__(self, lab: str, endpoint: str) -> None:
        self.lab = lab
        found = ends(state.read(lab))
        if endpoint not in found:
            node = endpoint.partition(":")[0]
            here = sorted(e for e in found if e.startswith(f"{node}:")) or sorted(found)
            raise NetlabError(f"lab {lab} has no link end {endpoint!r} (node:interface; "
                              f"there are: {', '.join(here) or 'none'})")
        self.end = found[endpoint]

    def __repr__(self) -> str:
        return f"Link({self.lab!r}, {self.end.endpoint!r})"

    def show(self) -> dict:
        """The end as it is now: ``endpoint``, ``peer`` (the other end's interface and namespace),
        ``state`` and the impairments set (``rate``, ``loss``, ``delay``)."""
        peer = {"netns": self.end.peer_ns, "interface": self.end.peer_name}
        return {"endpoint": self.end.endpoint, "peer": peer, **current(state.read(self.lab), self.end)}

    def up(self) -> dict:
        """`ip link set IFACE up`: traffic flows again."""
        return self._state(True)

    def down(self) -> dict:
        """`ip link set IFACE down`: the other end loses carrier, nothing passes either way."""
        return self._state(False)

    def _state(self, up: bool) -> dict:
        _run([Step("link.set", {"ns": self.end.ns, "name": self.end.name, "up": up, "peer_ns": self.end.peer_ns,
                                "peer_name": self.end.peer_name}, scope=self.end.ns)])
        self._record({"state": "up" if up else "down"})
        return self.show()

    def set(self, rate: str | None = None, loss: str | None = None, delay: str | None = None) -> dict:
        """Change the impairments given (the others stay as they are): ``rate`` like "10mbit",
        ``loss`` like "5%", ``delay`` like "20ms" (needs netem). Returns ``show()``."""
        old = {k: v for k, v in current(state.read(self.lab), self.end).items() if k in IMPAIRMENTS}
        asked = {k: v for k, v in {"rate": rate, "loss": loss, "delay": delay}.items() if v is not None}
        return self._apply(old, _checked(self.end.endpoint, {**old, **asked}))

    def reset(self) -> dict:
        """Remove every impairment of this end (the file's too)."""
        old = {k: v for k, v in current(state.read(self.lab), self.end).items() if k in IMPAIRMENTS}
        return self._apply(old, {})

    def _apply(self, old: dict, new: dict) -> dict:
        steps = _steps(self.end, old, new)
        deploy.check_features(steps)
        try:
            _run(steps)
        except NetlabError:
            with contextlib.suppress(NetlabError):  # back to what it was: a change is all or nothing
                _run(_steps(self.end, new, old))
            raise
        self._record({k: new.get(k) for k in IMPAIRMENTS})
        return self.show()

    def _record(self, values: dict) -> None:
        with state.changing(self.lab) as extra:
            extra.setdefault("live", {}).setdefault(self.end.endpoint, {}).update(values)
