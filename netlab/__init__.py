"""netlab: container-network labs on the real Linux kernel, as a library and a CLI.

    import netlab

    topo = netlab.Topology("demo").node("a").node("b").link("a:eth0", "b:eth0", rate="100mbit")
    with netlab.up(topo) as lab:
        print(lab.exec("a", ["ping", "-c1", lab.addr("b")]).stdout)

The public names (docs/api.md): Topology, load, from_dict (a topology described in
Python, read from a file or a mapping); up, attach, Lab, Result (a lab that is up);
Link (one end of a link of a running lab); Node (what runs inside a node);
Interrupted and the errors NetlabError, TopologyError, LabExists, NoSuchLab,
FeatureMissing. They are imported on first use, so a process that needs one
small module of netlab (a benchmark's engine) does not pay for all of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from netlab.errors import FeatureMissing, LabExists, NetlabError, NoSuchLab, TopologyError
from netlab.signals import Interrupted

__version__ = "0.1.0"

__all__ = ["FeatureMissing", "Interrupted", "Lab", "LabExists", "Link", "NetlabError", "NoSuchLab", "Node",
           "Result", "Topology", "TopologyError", "attach", "from_dict", "load", "up"]

if TYPE_CHECKING:
    from netlab.builder import Topology, from_dict, load
    from netlab.lifecycle import Lab, Result, attach, up
    from netlab.live import Link
    from netlab.node import Node


def __getattr__(name: str) -> Any:
    if name in ("Topology", "from_dict", "load"):
        from netlab import builder as module
    elif name in ("Lab", "Result", "attach", "up"):
        from netlab import lifecycle as module
    elif name == "Link":
        from netlab import live as module
    elif name == "Node":
        from netlab import node as module
    else:
        raise AttributeError(f"module 'netlab' has no attribute {name!r}")
    return getattr(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
