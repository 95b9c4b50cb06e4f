"""A fake OpenAI-compatible chat-completions server: a real HTTP server on 127.0.0.1 that
answers ``POST /chat/completions`` as a model with structured outputs would, by running the
offline rules extractor on the last user message (so the rules' extraction table passes
through the OpenAI adapter unchanged), and keyword expansions from the rules' synonyms.

    with FakeChatModel() as fake:
        fake.refuse("I can't help with that")     # the next answer is a refusal
        extractor = OpenAICompatibleExtractor(fake.url, fake.api_key, "fake-model")

Scripted answers (each for the next ``times`` requests): ``refuse``, ``truncate``
(``finish_reason: "length"``), ``malformed`` (not JSON), ``schema_invalid`` (JSON not of
the schema), ``answer`` (any content and usage), ``throttle`` (429 with Retry-After),
``fail`` (5xx). Every request is recorded. Requests need ``Authorization: Bearer
<api_key>`` and a ``json_schema`` response format naming one of the two schemas.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from lad_adapters.llm.openai_compatible import CURRENT_PREFIX
from lad_adapters.llm.rules import RulesExtractor, estimated_tokens
from lad_adapters.llm.schema import EXPANSION_SCHEMA_NAME, UPDATE_SCHEMA_NAME, answer_of
from lad_domain.icp.model import IcpDocument, IcpUpdate
from tests.fakes.loopback import LoopbackFake, RecordedRequest, Scripted

__all__ = ["FakeChatModel", "RecordedRequest", "completion", "running"]


def completion(content: str | None, *, model: str = "fake-model", finish_reason: str = "stop",
               refusal: str | None = None, prompt_tokens: int = 0,
               completion_tokens: int = 0) -> dict[str, Any]:
    """A chat completion as OpenAI's API answers it."""
    return {"id": "chatcmpl-fake", "object": "chat.completion", "created": 1_700_000_000,
            "model": model,
            "choices": [{"index": 0, "finish_reason": finish_reason,
                         "message": {"role": "assistant", "content": content,
                                     "refusal": refusal}}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                      "total_tokens": prompt_tokens + completion_tokens}}


def _error(status: int, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "fake_error", "code": status}}


class FakeChatModel(LoopbackFake):
    name = "chat-model"

    def __init__(self, api_key: str = "sk-fake-llm-key") -> None:
        self.api_key = api_key
        self._rules = RulesExtractor()
        self._requests: list[RecordedRequest] = []
        self._script: list[Scripted] = []
        self._lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        fake: FakeChatModel = self

        class Handler(_Handler):
            owner = fake

        return Handler

    # -- the script ------------------------------------------------------------------------

    def script(self, status: int, body: dict[str, Any], *, times: int = 1,
               retry_after: str | None = None) -> None:
        with self._lock:
            self._script.append(Scripted(status=status, body=body, times=times,
                                         retry_after=retry_after))

    def answer(self, content: str | None, *, times: int = 1, **fields: Any) -> None:
        self.script(200, completion(content, **fields), times=times)

    def refuse(self, text: str, *, times: int = 1) -> None:
        self.answer(None, refusal=text, times=times)

    def truncate(self, *, times: int = 1) -> None:
        self.answer('{"titles": ["VP of', finish_reason="length", times=times,
                    prompt_tokens=10, completion_tokens=5)

    def malformed(self, *, times: int = 1) -> None:
        self.answer("Sure! Here is the profile: titles = VP of Sales", times=times)

    def schema_invalid(self, *, times: int = 1) -> None:
        answer = answer_of(IcpUpdate(IcpDocument()))
        answer["titles"] = "VP of Sales"  # a string where the schema has an array
        self.answer(json.dumps(answer), times=times)

    def throttle(self, retry_after: str | None, *, times: int = 1) -> None:
        self.script(429, _error(429, "Rate limit reached"), times=times,
                    retry_after=retry_after)

    def fail(self, status: int = 500, *, times: int = 1) -> None:
        self.script(status, _error(status, "The server had an error"), times=times)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._script.clear()

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    # -- serving (on the server's threads) -----------------------------------------------

    def _answer(self, request: RecordedRequest) -> tuple[int, dict[str, Any], dict[str, str]]:
        with self._lock:
            self._requests.append(request)
            scripted = self._script[0] if self._script else None
            if scripted is not None:
                scripted.times -= 1
                if scripted.times <= 0:
                    self._script.pop(0)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return 401, _error(401, "Incorrect API key provided"), {}
        if request.method != "POST" or request.path != "/chat/completions":
            return 404, _error(404, f"Unknown request URL: {request.method} {request.path}"), {}
        if scripted is not None and scripted.status is not None and scripted.body is not None:
            headers = {"Retry-After": scripted.retry_after} if scripted.retry_after else {}
            return scripted.status, scripted.body, headers
        body = request.json if isinstance(request.json, dict) else {}
        schema = ((body.get("response_format") or {}).get("json_schema") or {})
        messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
        said = [m for m in messages if m.get("role") == "user"]
        if not said or not schema.get("strict"):
            return 400, _error(400, "a strict json_schema response_format and a user "
                                    "message are required"), {}
        if schema.get("name") == UPDATE_SCHEMA_NAME:
            current = next((IcpDocument.from_json(json.loads(text[len(CURRENT_PREFIX):]))
                            for m in messages if m.get("role") == "system"
                            and (text := str(m.get("content"))).startswith(CURRENT_PREFIX)),
                           None)
            answer = answer_of(self._rules.read(str(said[-1].get("content")), current))
        elif schema.get("name") == EXPANSION_SCHEMA_NAME:
            asked = json.loads(str(said[-1].get("content")))
            expansion = self._rules.expand(asked["keyword"], asked["context"])
            answer = {"keywords": list(expansion.keywords)}
        else:
            return 400, _error(400, f"unknown schema {schema.get('name')!r}"), {}
        content = json.dumps(answer)
        prompt = estimated_tokens(*(str(m.get("content")) for m in messages))
        return 200, completion(content, model=str(body.get("model")), prompt_tokens=prompt,
                               completion_tokens=estimated_tokens(content)), {}


class _Handler(BaseHTTPRequestHandler):
    owner: FakeChatModel
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the fake's log is ``requests``."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        try:
            document = json.loads(body) if body else None
        except ValueError:
            document = None
        request = RecordedRequest(self.command, urlsplit(self.path).path,
                                  {k.lower(): v for k, v in self.headers.items()}, body,
                                  document)
        status, answer, headers = self.owner._answer(request)
        payload = json.dumps(answer).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST


def running(fake: FakeChatModel) -> Iterator[FakeChatModel]:
    """A started fake, stopped afterwards (the body of a pytest fixture)."""
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()
