"""Topology generators: a lab of any size from a few parameters, as Mininet's
``--topo`` and ``containerlab generate`` offer.

Each generator is a pure function returning the topology file as plain data (a
dict, exactly what the YAML holds); ``text.to_yaml`` writes it for a person to
read and edit, and ``netlab.loader`` validates it like any file.
"""

from __future__ import annotations

from netlab.generate.addressing import GenerateError
from netlab.generate.nat import nat
from netlab.generate.routed import clos, linear
from netlab.generate.shapes import star, tree
from netlab.generate.text import to_yaml

GENERATORS = {"star": star, "linear": linear, "tree": tree, "clos": clos, "nat": nat}

__all__ = ["GENERATORS", "GenerateError", "clos", "linear", "nat", "star", "to_yaml", "tree"]
