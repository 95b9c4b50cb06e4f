"""Requests generated from the app's OpenAPI document, so that every operation, present
and future, is covered: each string field of each body, query and path, by its name."""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

import attrs

from lad_entrypoints.container import build_container
from lad_entrypoints.http.app import create_app
from tests.conftest import fast_settings

ANY_ID = str(uuid.UUID(int=1))
SURROGATES = re.compile("[\ud800-\udfff]")


@functools.cache
def openapi_document() -> dict[str, Any]:
    """The document as served: the same for every backend, so built once over memory."""
    return create_app(build_container(fast_settings("memory://"))).openapi()


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, methods in openapi_document()["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


@attrs.frozen
class FieldCase:
    """One request that puts ``value`` in one field, and the field a 422 must name."""

    method: str
    path: str
    field: str
    query: str = ""
    body: bytes | None = None
    form: dict[str, str] | None = None

    def __str__(self) -> str:
        return f"{self.method} {self.path} {self.field}"


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if ref is None:
        return schema
    return resolve(openapi_document()["components"]["schemas"][ref.rsplit("/", 1)[-1]])


def variants(schema: dict[str, Any]) -> list[dict[str, Any]]:
    schema = resolve(schema)
    return [resolve(s) for s in schema.get("anyOf", [schema])]


def is_text(schema: dict[str, Any]) -> bool:
    """A string that is not a file."""
    return any(v.get("type") == "string" and v.get("format") != "binary"
               and "contentMediaType" not in v for v in variants(schema))


def text_paths(schema: dict[str, Any], path: tuple[str, ...] = ()
               ) -> Iterator[tuple[tuple[str, ...], bool]]:
    """Where a JSON body holds text: (path to the value, whether the last step is a key
    of a free-form object, which may also be refused itself)."""
    if is_text(schema):
        yield path, False
    for v in variants(schema):
        for name, prop in v.get("properties", {}).items():
            yield from text_paths(prop, (*path, name))
        extra = v.get("additionalProperties")
        if extra:
            yield (*path, "x"), True
            if isinstance(extra, dict) and extra:
                yield from ((p, False) for p, _ in text_paths(extra, (*path, "x")) if p)
        if v.get("type") == "array" and "items" in v:
            yield from text_paths(v["items"], (*path, "0"))


def nest(path: tuple[str, ...], value: object) -> object:
    for step in reversed(path):
        value = [value] if step == "0" else {step: value}
    return value


def field_cases(text: str, query_text: str) -> Iterator[FieldCase]:
    """``text`` in every string field of every JSON body (and every free-form key), and
    ``query_text`` (percent-encoded) in every string query and path parameter."""
    for path, method, operation in operations():
        params = operation.get("parameters", [])
        filled = path
        for p in params:
            if p["in"] == "path":
                filled = filled.replace("{" + p["name"] + "}", ANY_ID)
        for p in params:
            if not is_text(p.get("schema", {})):
                continue
            if p["in"] == "query":
                yield FieldCase(method, filled, p["name"], query=f"{p['name']}={query_text}")
            elif p["in"] == "path":
                one = path.replace("{" + p["name"] + "}", query_text)
                for q in params:
                    one = one.replace("{" + q["name"] + "}", ANY_ID)
                yield FieldCase(method, one, p["name"])
        content = operation.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            for steps, is_key in text_paths(content["application/json"]["schema"]):
                body = json.dumps(nest(steps, text)).encode()
                yield FieldCase(method, filled, ".".join(steps) or "body", body=body)
                if is_key:
                    keyed = json.dumps(nest(steps[:-1], {text: 1})).encode()
                    yield FieldCase(method, filled, ".".join(steps[:-1]) or "body", body=keyed)
        # A multipart body is bytes: a lone surrogate cannot even be sent in one.
        if "multipart/form-data" in content and not SURROGATES.search(text):
            form = resolve(content["multipart/form-data"]["schema"])
            for name, prop in form.get("properties", {}).items():
                if is_text(prop):
                    yield FieldCase(method, filled, name, form={name: text})
