"""A generated topology as YAML a person reads and edits: block structure, short
mappings and lists on one line (``h1: {}``, ``- {to: ..., via: ...}``), keys in
the order the generator wrote them, a comment saying how it was made.
PyYAML writes it (its Python emitter: the C one cannot indent lists): quoting is its job."""

from __future__ import annotations

import yaml

_FLOW_WIDTH = 100  # a flat mapping or list longer than this on one line goes in block style


class _Dumper(yaml.SafeDumper):
    """Lists indented under their key (``  - x``), as people write them."""

    def increase_indent(self, flow: bool = False, indentless: bool = False):
        return super().increase_indent(flow, False)


def _flat(value) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return not any(isinstance(v, (dict, list, tuple)) for v in items) and len(str(value)) <= _FLOW_WIDTH


def _mapping(dumper: yaml.SafeDumper, value: dict):
    return dumper.represent_mapping("tag:yaml.org,2002:map", value.items(), flow_style=_flat(value))


def _sequence(dumper: yaml.SafeDumper, value):
    return dumper.represent_sequence("tag:yaml.org,2002:seq", value, flow_style=_flat(value))


_Dumper.add_representer(dict, _mapping)
_Dumper.add_representer(list, _sequence)
_Dumper.add_representer(tuple, _sequence)


def to_yaml(data: dict, comment: str | None = None) -> str:
    """``data`` (a topology as plain dicts, lists and scalars) as YAML text."""
    head = "".join(f"# {line}\n" if line else "#\n" for line in (comment or "").splitlines())
    return head + yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=4096, allow_unicode=True)
