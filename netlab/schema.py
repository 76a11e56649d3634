"""JSON Schema of the topology file, for editors (yaml-language-server)."""

from __future__ import annotations

from netlab import kinds
from netlab.model import TopologyFile


def topology_schema() -> dict:
    schema = TopologyFile.model_json_schema()
    node_schemas = {}
    for name, kind in kinds.KINDS.items():
        sub = kind.spec.model_json_schema()
        schema.setdefault("$defs", {}).update(sub.pop("$defs", {}))
        node_schemas[name] = sub
    any_node = {"anyOf": list(node_schemas.values())}
    schema["properties"]["nodes"]["additionalProperties"] = any_node
    schema["properties"]["defaults"] = {"type": "object", "description": "fields every node inherits"}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "netlab topology"
    return schema
