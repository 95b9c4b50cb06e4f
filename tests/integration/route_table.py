"""The app's route table as requests to make: every (method, path) with the ids it takes
(path, query and body) and a minimal valid example of the rest, from its OpenAPI operation."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping
from typing import Any

import attrs
from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts

#: Query and body fields that name another object without an ``_id`` in their name.
REFERENCES = frozenset({"move_to", "reassign_to"})
_ID_NAME = re.compile(r"(_id|_ids|ids)$")
_PATH_PARAMETER = re.compile(r"{(\w+)(?::\w+)?}")
_serial = itertools.count(1)


def is_reference(name: str) -> bool:
    return bool(_ID_NAME.search(name)) or name in REFERENCES


@attrs.frozen
class Operation:
    method: str
    path: str
    spec: Mapping[str, Any] = attrs.field(repr=False)
    schemas: Mapping[str, Any] = attrs.field(repr=False)

    @property
    def route(self) -> tuple[str, str]:
        return self.method, self.path

    def parameters(self, where: str) -> list[Mapping[str, Any]]:
        return [p for p in self.spec.get("parameters", []) if p["in"] == where]

    @property
    def path_ids(self) -> list[str]:
        """From the path itself, so that a route without an OpenAPI operation counts."""
        return _PATH_PARAMETER.findall(self.path)

    @property
    def query_ids(self) -> list[str]:
        return [p["name"] for p in self.parameters("query") if is_reference(p["name"])]

    @property
    def body(self) -> tuple[str, Mapping[str, Any]] | None:
        """The body's media type and schema, if it takes one."""
        content = self.spec.get("requestBody", {}).get("content", {})
        return next(((media, spec["schema"]) for media, spec in content.items()), None)

    @property
    def body_ids(self) -> list[str]:
        body = self.body
        return [] if body is None else sorted(set(self._references(body[1])))

    @property
    def takes_ids(self) -> bool:
        return bool(self.path_ids or self.query_ids or self.body_ids)

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        while "$ref" in schema:
            schema = self.schemas[schema["$ref"].rsplit("/", 1)[1]]
        return schema

    def _references(self, schema: Mapping[str, Any]) -> Iterator[str]:
        schema = self.resolve(schema)
        for name, field in schema.get("properties", {}).items():
            if is_reference(name):
                yield name
            for option in [field, *field.get("anyOf", []), field.get("items", {})]:
                if "$ref" in option or "properties" in option:
                    yield from self._references(option)


def operations(app: FastAPI) -> list[Operation]:
    """Every route's methods, walked from the route table (``iter_route_contexts``:
    included routers are not flattened into ``app.routes``); described by its OpenAPI
    operation, or by an empty one when it has none (a route hidden from the schema)."""
    document = app.openapi()
    schemas = document.get("components", {}).get("schemas", {})
    found = []
    for context in iter_route_contexts(app.routes):
        if not isinstance(context.original_route, APIRoute):
            continue
        path = str(context.path)
        for method in sorted(context.methods or ()):
            spec = document["paths"].get(path, {}).get(method.lower(), {})
            found.append(Operation(method, path, spec, schemas))
    return found


@attrs.frozen
class Call:
    method: str
    url: str
    headers: dict[str, str]
    json: Any = None
    files: dict[str, Any] | None = None
    data: dict[str, Any] | None = None

    @property
    def sent(self) -> str:
        return f"{self.url} {self.json} {self.data}"

    def replace(self, values: Mapping[str, str]) -> Call:
        """The same call with each of ``values``' keys replaced by its value."""
        return Call(self.method, _swap(self.url, values), self.headers,
                    _swap(self.json, values), self.files, _swap(self.data, values))


def _swap(value: Any, values: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _swap(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [_swap(v, values) for v in value]
    if isinstance(value, str):
        for old, new in values.items():
            value = value.replace(old, new)
    return value


def build_call(op: Operation, ids: Mapping[str, str], examples: Mapping[str, Any],
               headers: Mapping[str, str]) -> Call:
    """``ids`` gives each id the operation takes (by its name); the rest of the body is a
    small valid example: the required fields and those ``examples`` names (its values
    first, then the schema's examples, then a value of the field's type)."""
    url = op.path.format(**{name: ids[name] for name in op.path_ids})
    query = "&".join(f"{name}={ids[name]}" for name in op.query_ids)
    url = f"{url}?{query}" if query else url
    sent = dict(headers)
    key = next(_serial)
    for header in op.parameters("header"):
        if header.get("required"):
            sent[header["name"]] = f"cross-tenant-{key}"
    body = op.body
    if body is None:
        return Call(op.method, url, sent)
    media, schema = body
    value = _example(op, schema, ids, examples)
    if media == "multipart/form-data":
        files = {k: ("x.txt", b"x", "text/plain") for k, v in value.items() if v is _FILE}
        data = {k: v for k, v in value.items() if v is not _FILE}
        return Call(op.method, url, sent, files=files, data=data)
    return Call(op.method, url, sent, json=value)


_FILE = object()


def _example(op: Operation, schema: Mapping[str, Any], ids: Mapping[str, str],
             examples: Mapping[str, Any], name: str = "") -> Any:
    schema = op.resolve(schema)
    if name in ids:
        # A list of ids (``lead_ids``) holds the one id.
        return [ids[name]] if _is_array(op, schema) else ids[name]
    if name in examples:
        return examples[name]
    if "examples" in schema:
        return schema["examples"][0]
    options = [o for o in schema.get("anyOf", []) if o.get("type") != "null"]
    if options:
        return _example(op, options[0], ids, examples)
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if "contentMediaType" in schema or schema.get("format") == "binary":
        return _FILE
    if kind == "object":
        properties = schema.get("properties", {})
        wanted = [n for n in properties
                  if n in schema.get("required", []) or n in ids or n in examples]
        return {n: _example(op, properties[n], ids, examples, n) for n in wanted}
    if kind == "array":
        return [_example(op, schema.get("items", {}), ids, examples)]
    return _SCALARS.get(schema.get("format", ""), _SCALARS.get(str(kind)))


def _is_array(op: Operation, schema: Mapping[str, Any]) -> bool:
    return any(op.resolve(o).get("type") == "array"
               for o in [schema, *schema.get("anyOf", [])])


_SCALARS: dict[str, Any] = {
    "date-time": "2031-01-01T09:00:00Z",
    "uuid": "00000000-0000-4000-8000-000000000000", "string": "x", "integer": 1, "number": 1,
    "boolean": False,
}
