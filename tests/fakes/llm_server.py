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
from typing import Any

from lad_adapters.llm.openai_compatible import CURRENT_PREFIX
from lad_adapters.llm.rules import RulesExtractor, estimated_tokens
from lad_adapters.llm.schema import EXPANSION_SCHEMA_NAME, UPDATE_SCHEMA_NAME, answer_of
from lad_domain.icp.model import IcpDocument, IcpUpdate
from tests.fakes.loopback import Answer, LoopbackFake, RecordedRequest, Scripted, running

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


def _refused(status: int, message: str) -> Answer:
    return Answer(status, _error(status, message))


class FakeChatModel(LoopbackFake):
    name = "fake chat model"

    def __init__(self, api_key: str = "sk-fake-llm-key") -> None:
        super().__init__(api_key)
        self._rules = RulesExtractor()

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

    # -- serving (on the server's threads) -----------------------------------------------

    def serve(self, request: RecordedRequest) -> Answer:
        scripted = self._record(request)
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _refused(401, "Incorrect API key provided")
        if request.method != "POST" or request.path != "/chat/completions":
            return _refused(404, f"Unknown request URL: {request.method} {request.path}")
        if scripted is not None and scripted.status is not None and scripted.body is not None:
            headers = {"Retry-After": scripted.retry_after} if scripted.retry_after else {}
            return Answer(scripted.status, scripted.body, headers)
        body = request.json if isinstance(request.json, dict) else {}
        schema = ((body.get("response_format") or {}).get("json_schema") or {})
        messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
        said = [m for m in messages if m.get("role") == "user"]
        if not said or not schema.get("strict"):
            return _refused(400, "a strict json_schema response_format and a user message "
                                 "are required")
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
            return _refused(400, f"unknown schema {schema.get('name')!r}")
        content = json.dumps(answer)
        prompt = estimated_tokens(*(str(m.get("content")) for m in messages))
        return Answer(200, completion(content, model=str(body.get("model")),
                                      prompt_tokens=prompt,
                                      completion_tokens=estimated_tokens(content)))
