"""The edge's text rule, for every route present and future: request text must be valid
Unicode without NUL. A lone UTF-16 surrogate (``"\\ud800"`` in JSON), bytes that are not
UTF-8 and NUL are refused with a 422 naming the field, before any route, service or
database sees them (no database stores a lone surrogate, and none can be answered back)."""

from __future__ import annotations

import json
import re
from collections import deque
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.responses import Response
from starlette.types import Message, Receive, Scope

from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_entrypoints.http import errors
from lad_entrypoints.http.methods import route_table

#: Objects and arrays nested deeper than this are refused (the domain's JSON documents are
#: at most 16 levels deep; this bounds the work of reading any body).
MAX_JSON_DEPTH = 64
NOT_UNICODE = "must be valid Unicode text (it holds a lone surrogate)"
NOT_UTF8 = "must be UTF-8 text"
HAS_NUL = "must not contain NUL characters"
#: What makes a JSON body worth reading in full here: an escaped surrogate or NUL, or enough
#: brackets to nest too deep. Most bodies have none, and pass after one scan of their bytes.
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:[dD][89a-fA-F][0-9a-fA-F]{2}|0000)")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PARAMETER = re.compile(r"^\{(\w+)(?::\w+)?\}$")


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused, or None."""
    if "\x00" in text:
        return HAS_NUL
    if _SURROGATE.search(text):
        return NOT_UNICODE
    return None


async def text_refusal(scope: Scope, receive: Receive) -> tuple[Response | None, Receive]:
    """The 422 of an HTTP request whose path, query, headers or JSON body hold text that is
    refused (None when there is none), and the ``receive`` the app reads the body from."""
    found = [*_path_problems(scope), *_query_problems(scope), *_header_problems(scope)]
    if not found and _is_json(scope):
        body, receive = await _buffered(receive)
        found = _body_problems(body)
    if found:
        return errors.validation_problem(Request(scope), ValidationFailed(found[:20])), receive
    return None, receive


async def form_text(request: Request) -> None:
    """App-wide dependency: the text fields (and file names) of form bodies, which only the
    route's form parser reads. Invalid UTF-8 in a multipart field reaches us already decoded
    (Starlette falls back to latin-1), so NUL and surrogates are what is left to refuse."""
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        return
    found = []
    for name, value in (await request.form()).multi_items():
        if text_problem(name):
            found.append(FieldError("body", name_problem(name)))
            continue
        text = (value.filename or "") if isinstance(value, UploadFile) else value
        problem = text_problem(text)
        if problem:
            found.append(FieldError(name, problem))
    if found:
        raise ValidationFailed(found)


def name_problem(name: str) -> str:
    """Why an object key or a form field name is refused: the field is its container, as
    the name itself cannot be shown."""
    if "\x00" in name:
        return "has a name with a NUL character"
    return "has a name that is not valid Unicode text (it holds a lone surrogate)"


def _utf8(raw: bytes) -> tuple[str | None, str | None]:
    """The text and why it is refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, NOT_UTF8
    return text, text_problem(text)


def _path_problems(scope: Scope) -> Iterator[FieldError]:
    raw = scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")
    if _plain(raw):
        return
    segments = raw.split(b"?", 1)[0].split(b"/")
    for index, segment in enumerate(segments):
        problem = _utf8(unquote_to_bytes(segment))[1]
        if problem:
            yield FieldError(_segment_name(scope, index), problem)


def _plain(raw: bytes) -> bool:
    """ASCII with no escape and no NUL: text that holds nothing refused, as most paths and
    queries are; they pass without being decoded."""
    return raw.isascii() and b"%" not in raw and b"\x00" not in raw


def _segment_name(scope: Scope, index: int) -> str:
    """The path parameter at segment ``index`` of the route the path matches, else path."""
    for route in route_table(scope):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(scope["path"]):
            template = getattr(route, "path", "").split("/")
            found = _PARAMETER.match(template[index]) if index < len(template) else None
            return found.group(1) if found else "path"
    return "path"


def _query_problems(scope: Scope) -> Iterator[FieldError]:
    query: bytes = scope.get("query_string", b"")
    if _plain(query):
        return
    for pair in filter(None, query.split(b"&")):
        key, _, value = pair.partition(b"=")
        name, key_problem = _utf8(unquote_to_bytes(key.replace(b"+", b" ")))
        if key_problem or name is None:
            yield FieldError("query", "has a parameter name that is not valid UTF-8 text "
                             "without NUL")
            continue
        problem = _utf8(unquote_to_bytes(value.replace(b"+", b" ")))[1]
        if problem:
            yield FieldError(name, problem)


def _header_problems(scope: Scope) -> Iterator[FieldError]:
    # Header values are latin-1, always valid text; servers refuse NUL, in-process clients may not.
    for name, value in scope.get("headers", []):
        if b"\x00" in value:
            yield FieldError(f"header.{name.decode('latin-1').lower()}", HAS_NUL)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            media: bytes = value.split(b";", 1)[0].strip().lower()
            return media == b"application/json" or (
                media.startswith(b"application/") and media.endswith(b"+json"))
    return False


async def _buffered(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body, and a ``receive`` that hands it on to the app as if unread."""
    chunks: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), _replay([message], receive)
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(chunks)
    return body, _replay([{"type": "http.request", "body": body, "more_body": False}], receive)


def _replay(pending: list[Message], receive: Receive) -> Receive:
    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()
    return replayed


def _body_problems(body: bytes) -> list[FieldError]:
    text, problem = _utf8(body)
    if text is None:
        return [FieldError("body", "is not valid UTF-8")]
    deep = body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH
    if not (problem or deep or _SUSPECT_ESCAPE.search(body)):
        return []
    try:
        document = json.loads(text)
    except RecursionError:
        return [FieldError("body", f"nests deeper than {MAX_JSON_DEPTH} levels")]
    except ValueError:
        return []  # not JSON: the route's own parser names it
    return list(_document_problems(document))


def _document_problems(document: Any) -> Iterator[FieldError]:
    """Every refused string of a JSON document, by its dotted path, in document order;
    iterative, so that depth is measured rather than recursed into."""
    pending: deque[tuple[Any, tuple[str, ...]]] = deque([(document, ())])
    while pending:
        value, path = pending.popleft()
        field = ".".join(path) or "body"
        if len(path) > MAX_JSON_DEPTH:
            yield FieldError("body", f"nests deeper than {MAX_JSON_DEPTH} levels")
            return
        if isinstance(value, str):
            problem = text_problem(value)
            if problem:
                yield FieldError(field, problem)
        elif isinstance(value, dict):
            for key, item in value.items():
                if text_problem(key):
                    yield FieldError(field, name_problem(key))
                else:
                    pending.append((item, (*path, key)))
        elif isinstance(value, list):
            pending.extend((item, (*path, str(i))) for i, item in enumerate(value))
