"""JSON Schema of the topology file, for editors (yaml-language-server)."""

from __future__ import annotations

from netlab import kinds
from netlab.model import TopologyFile

ENDPOINT_TEXT = {"type": "string", "pattern": r"^[A-Za-z][A-Za-z0-9_-]*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,14})?$",
                 "description": "node or node:interface, e.g. h1:eth0"}


def topology_schema() -> dict:
    schema = TopologyFile.model_json_schema()
    defs = schema.setdefault("$defs", {})
    node_schemas = []
    for kind in kinds.KINDS.values():
        sub = kind.spec.model_json_schema()
        defs.update(sub.pop("$defs", {}))
        node_schemas.append(sub)
    schema["properties"]["nodes"]["additionalProperties"] = {"anyOf": node_schemas + [{"type": "null"}]}
    schema["properties"]["defaults"] = {"type": "object", "description": "fields every node inherits"}
    # The short forms the model normalises: "h1:eth0" for an endpoint, [a, b] for a link.
    long_form = defs["Endpoint"]
    with_text = {**long_form, "required": ["endpoint"],
                 "properties": {**{k: v for k, v in long_form["properties"].items() if k not in ("node", "interface")},
                                "endpoint": ENDPOINT_TEXT}}
    defs["Endpoint"] = {"anyOf": [ENDPOINT_TEXT, long_form, with_text]}
    defs["Link"] = {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/Endpoint"}, "minItems": 2,
                               "maxItems": 2}, defs["Link"]]}
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "netlab topology"
    return schema
