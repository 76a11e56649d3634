"""A generated topology as YAML a person reads and edits: block structure, short
mappings and lists on one line (``h1: {}``, ``- {to: ..., via: ...}``), keys in
the order the generator wrote them, a comment saying how it was made."""

from __future__ import annotations

import io

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

_FLOW_WIDTH = 100  # a flat mapping or list longer than this on one line goes in block style


def to_yaml(data: dict, comment: str | None = None) -> str:
    """``data`` (a topology as plain dicts, lists and scalars) as YAML text."""
    yaml = YAML(typ="rt")
    yaml.width = 4096  # never fold a line
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    if comment:
        out.write("".join(f"# {line}\n" if line else "#\n" for line in comment.splitlines()))
    yaml.dump(_styled(data), out)
    return out.getvalue()


def _styled(value):
    if isinstance(value, dict):
        node = CommentedMap((k, _styled(v)) for k, v in value.items())
        node.fa.set_flow_style() if _flat(value) else node.fa.set_block_style()
        return node
    if isinstance(value, (list, tuple)):
        seq = CommentedSeq(_styled(v) for v in value)
        seq.fa.set_flow_style() if _flat(value) else seq.fa.set_block_style()
        return seq
    return value


def _flat(value) -> bool:
    items = value.values() if isinstance(value, dict) else value
    if any(isinstance(v, (dict, list, tuple)) for v in items):
        return False
    return len(str(value)) <= _FLOW_WIDTH
