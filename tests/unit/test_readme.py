"""The topology shown in the README is a real one."""

from __future__ import annotations

import re
from pathlib import Path

from netlab import loader, plan


def test_readme_topology_validates_and_plans():
    text = (Path(__file__).parents[2] / "README.md").read_text()
    block = next(b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if b.startswith("name:"))
    topo = loader.load_text(block, "README.md")
    ops = {s.op for s in plan.build(topo).steps}
    assert {"nat.apply", "loss.apply", "qdisc.tbf", "route.add", "exec.run"} <= ops
