"""The JSON a chat model answers with (OpenAI structured outputs, strict mode), a validator
for exactly these schemas, and the translation between an answer and an ``IcpUpdate``.

Strict mode requires every object to list all its properties as required and to forbid
others, so an answer is one flat object: the document's fields, ``replace`` (the field
names the user corrected) and ``remove`` (``{"field", "value"}`` pairs: a map with free
keys cannot be written in strict mode).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from lad_domain.icp.model import FIELDS, LIST_FIELDS, SENIORITIES, IcpDocument, IcpUpdate

UPDATE_SCHEMA_NAME: Final = "icp_update"
EXPANSION_SCHEMA_NAME: Final = "keyword_expansion"

_TEXTS: Final = {"type": "array", "items": {"type": "string"}}


def _object(properties: Mapping[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": dict(properties), "required": list(properties),
            "additionalProperties": False}


UPDATE_SCHEMA: Final = _object({
    **{field: _TEXTS for field in LIST_FIELDS},
    "seniorities": {"type": "array", "items": {"type": "string", "enum": list(SENIORITIES)}},
    "headcounts": {"type": "array", "items": _object({"min": {"type": "integer"},
                                                      "max": {"type": "integer"}})},
    "include_similar_titles": {"type": "boolean"},
    "replace": {"type": "array", "items": {"type": "string", "enum": list(FIELDS)}},
    "remove": {"type": "array", "items": _object({
        "field": {"type": "string", "enum": list(LIST_FIELDS)}, "value": {"type": "string"}})},
})
EXPANSION_SCHEMA: Final = _object({"keywords": _TEXTS})

_TYPES: Final[Mapping[str, type | tuple[type, ...]]] = {
    "object": dict, "array": list, "string": str, "integer": int, "boolean": bool}


def problems(value: object, schema: Mapping[str, Any], path: str = "$") -> list[str]:
    """What in ``value`` does not fit ``schema`` (the keywords these schemas use: type,
    properties, required, additionalProperties false, items, enum), with JSON paths."""
    kind = schema["type"]
    if not isinstance(value, _TYPES[kind]) or (kind == "integer" and isinstance(value, bool)):
        return [f"{path}: must be of type {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: {value!r} is not one of {', '.join(map(str, schema['enum']))}"]
    found: list[str] = []
    if isinstance(value, dict):
        properties = schema["properties"]
        found += [f"{path}.{name}: is required" for name in schema["required"]
                  if name not in value]
        found += [f"{path}.{name}: is not allowed" for name in value if name not in properties]
        for name, item in value.items():
            if name in properties:
                found += problems(item, properties[name], f"{path}.{name}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += problems(item, schema["items"], f"{path}[{index}]")
    return found


def answer_of(update: IcpUpdate) -> dict[str, Any]:
    """An update in the answer's shape (what a model should have said)."""
    document = update.document.to_json()
    del document["source"]
    return {**document, "replace": sorted(update.replace),
            "remove": [{"field": field, "value": value}
                       for field, values in sorted(update.remove.items()) for value in values]}


def update_of(answer: Mapping[str, Any], *, source: str) -> IcpUpdate:
    """An answer that fits ``UPDATE_SCHEMA`` as an update; ValidationFailed when its
    values do not make a document (a range whose minimum is above its maximum, ...)."""
    document = IcpDocument.from_json({field: answer[field] for field in FIELDS},
                                     field="answer", source=source)
    removed: dict[str, set[str]] = {}
    for pair in answer["remove"]:
        value = " ".join(pair["value"].split())
        if value:
            removed.setdefault(pair["field"], set()).add(
                value.lower() if pair["field"] in ("seniorities", "domains") else value)
    return IcpUpdate(document, frozenset(answer["replace"]),
                     {field: tuple(sorted(values)) for field, values in sorted(removed.items())})
