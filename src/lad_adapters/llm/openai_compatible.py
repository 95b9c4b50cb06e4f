"""The ICP extractor over an OpenAI-compatible chat-completions API (OpenAI, or any server
speaking its ``POST {base_url}/chat/completions`` with structured outputs).

Each call sends the system prompt, the document so far, the last turns and the message,
with ``response_format`` a strict JSON schema (``schema.py``); the answer is checked
against the same schema here, then read by the domain (``IcpDocument.from_json``).

Failures, and what is tried again:

- ``message.refusal`` set: REFUSED with the model's text (not retried);
- ``finish_reason: "length"``: asked once more with twice the ``max_tokens``, then TRUNCATED;
- an answer that is not JSON of the schema (or whose values the domain refuses): asked
  again, ``max_retries`` times, then MALFORMED;
- 429: waited for when Retry-After is at most ``longest_wait`` seconds (the backoff when
  there is none) and asked again, ``max_retries`` times, then THROTTLED with retry_after;
  a longer Retry-After is THROTTLED at once;
- 5xx, a refused connection or a timeout: asked again after an exponential backoff,
  ``max_retries`` times, then UNAVAILABLE;
- 401/403 (the key) and 404 (the model or the URL): NOT_CONFIGURED; another 4xx:
  UNAVAILABLE with the server's message.

Usage is the answers' ``usage`` (``prompt_tokens``, ``completion_tokens``) summed over the
attempts a call took (each is billed). The API key is sent in the Authorization header
only: never logged, never in an error message (a server's message that echoes it is
redacted).
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import httpx
import tenacity

from lad_adapters.http_client import ClosesItsClient, answer_object, error_message, retry_after
from lad_adapters.llm.schema import (
    EXPANSION_SCHEMA,
    EXPANSION_SCHEMA_NAME,
    UPDATE_SCHEMA,
    UPDATE_SCHEMA_NAME,
    problems,
    update_of,
)
from lad_domain.icp.model import (
    HISTORY_TURNS,
    MAX_ITEM_LENGTH,
    MAX_ITEMS,
    SENIORITIES,
    IcpDocument,
    IcpUpdate,
)
from lad_domain.icp.ports import Expansion, Extraction, ModelError, ModelErrorKind, Turn, Usage
from lad_domain.shared.errors import ValidationFailed

log = logging.getLogger(__name__)

SYSTEM_PROMPT: Final = f"""\
You read what a sales team says about who they sell to, and answer with the change it \
makes to their ideal customer profile (ICP), as JSON of the given schema.
Fields: titles (job titles as people search them: "VP of Sales", "Head of Marketing", \
"CTO", "Founder"); seniorities (only these: {", ".join(SENIORITIES)}; infer them from \
titles too: CTO is c_suite, "VP of Sales" vp, "Head of ..." head); headcounts (company \
sizes in employees, {{"min", "max"}} both included, not overlapping: startups 1-50, small \
businesses 1-200, mid-market 201-1000, enterprise 1001-10000000); person_locations (where \
the people are) and organization_locations (where companies are headquartered), as \
canonical English names ("United States", "United Kingdom", "Germany", "London"); \
industries; keywords (technologies, products, quoted phrases); domains (example.com); \
include_similar_titles (true unless the user wants exactly these titles).
Give only what this message says: values said before are already in the ICP so far. \
Lists are added to the ICP. When the user corrects a field ("actually", "instead", \
"only", "change ... to", "not X but Y"), put the field's name in replace and give its \
complete new values. Values the user drops ("remove", "forget", "no longer", "not", \
"instead of X") go in remove as {{"field", "value"}} pairs, with the value as it is in \
the ICP. Leave a list empty when the message says nothing about it."""

EXPAND_PROMPT: Final = """\
Give keywords related to the keyword (synonyms, spellings, closely related terms people \
would search for) in its context (industry, title or keyword), as JSON of the given \
schema: at most 10, lower case, without the keyword itself."""

#: The system message carrying the document so far starts so (its JSON follows).
CURRENT_PREFIX: Final = "The ICP so far: "
#: The longest Retry-After waited for before asking again.
LONGEST_WAIT: Final = 10.0
Sleep = Callable[[float], None]
T = TypeVar("T")


class _Retry(Exception):
    """An attempt to make again: ``wait`` seconds when the server said so."""

    def __init__(self, kind: ModelErrorKind, message: str, wait: float | None = None) -> None:
        super().__init__(message)
        self.kind, self.message, self.wait = kind, message, wait


class OpenAICompatibleExtractor(ClosesItsClient[httpx.Client]):
    """An ``IcpExtractor`` over chat completions. One connection pool per instance;
    ``close()`` it (or ``with``). ``sleep`` is how it waits (tests pass one that only
    records)."""

    def __init__(self, base_url: str, api_key: str, model: str, *, timeout: float = 30.0,
                 max_retries: int = 3, provider: str = "openai", max_tokens: int = 1024,
                 backoff: float = 0.5, longest_wait: float = LONGEST_WAIT,
                 sleep: Sleep = time.sleep, transport: httpx.BaseTransport | None = None
                 ) -> None:
        if not api_key:
            raise ValueError("an API key is required")
        self._key = api_key
        self._model = model
        self._provider = provider
        self._retries = max(0, max_retries)
        self._max_tokens = max_tokens
        self._backoff = tenacity.wait_exponential(multiplier=backoff, max=backoff * 8)
        self._longest_wait = longest_wait
        self._sleep = sleep
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  transport=transport,
                                  headers={"Authorization": f"Bearer {api_key}",
                                           "Accept": "application/json"})

    @property
    def provider(self) -> str:
        return self._provider

    @property
    def model(self) -> str:
        return self._model

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(base_url={str(self._http.base_url)!r}, "
                f"model={self._model!r})")

    # -- the port --------------------------------------------------------------------------

    def extract(self, message: str, history: Sequence[Turn], current: IcpDocument
                ) -> Extraction:
        messages = [{"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "system", "content": CURRENT_PREFIX
                     + json.dumps({k: v for k, v in current.to_json().items()
                                   if k != "source"}, separators=(",", ":"))},
                    *({"role": t.role if t.role in ("user", "assistant") else "user",
                       "content": t.content} for t in history[-HISTORY_TURNS:]),
                    {"role": "user", "content": message}]
        update, usage = self._complete(messages, UPDATE_SCHEMA_NAME, UPDATE_SCHEMA,
                                       self._update)
        return Extraction(update, usage)

    def expand(self, keyword: str, context: str) -> Expansion:
        messages = [{"role": "system", "content": EXPAND_PROMPT},
                    {"role": "user", "content": json.dumps({"keyword": keyword,
                                                            "context": context})}]
        own = " ".join(keyword.lower().split())

        def keywords(answer: Mapping[str, Any]) -> tuple[str, ...]:
            found = {" ".join(k.lower().split()) for k in answer["keywords"]}
            return tuple(sorted(k for k in found
                                if k and k != own and len(k) <= MAX_ITEM_LENGTH))[:MAX_ITEMS]

        found, usage = self._complete(messages, EXPANSION_SCHEMA_NAME, EXPANSION_SCHEMA,
                                      keywords)
        return Expansion(found, usage)

    def worst_case(self, input_tokens: int) -> Usage:
        """Every attempt the retry policy allows (the malformed answers asked again, and
        one answer cut off asked again with twice the tokens), each sending the prompt
        and answering at most twice ``max_tokens``."""
        attempts = self._retries + 2
        return Usage(self._provider, self._model, input_tokens * attempts,
                     2 * self._max_tokens * attempts)

    def _update(self, answer: Mapping[str, Any]) -> IcpUpdate:
        return update_of(answer, source=self._model)

    # -- one completion ------------------------------------------------------------------

    def _complete(self, messages: list[dict[str, str]], name: str,
                     schema: Mapping[str, Any], read: Callable[[Mapping[str, Any]], T]
                     ) -> tuple[T, Usage]:
        max_tokens = self._max_tokens
        truncated = False
        malformed = 0
        spent = [0, 0]
        def failed(kind: ModelErrorKind, text: str, retry_after: int | None = None
                   ) -> ModelError:
            spent_so_far = Usage(self._provider, self._model, spent[0], spent[1])
            return ModelError(kind, text, retry_after=retry_after,
                              usage=spent_so_far if any(spent) else None)

        while True:
            payload = {"model": self._model, "messages": messages, "max_tokens": max_tokens,
                       "temperature": 0,
                       "response_format": {"type": "json_schema", "json_schema": {
                           "name": name, "strict": True, "schema": schema}}}
            try:
                answer = self._post(payload)
            except ModelError as error:
                raise failed(error.kind, error.message, error.retry_after) from None
            found = answer.get("usage")
            usage: Mapping[str, Any] = found if isinstance(found, dict) else {}
            spent[0] += _tokens(usage, "prompt_tokens")
            spent[1] += _tokens(usage, "completion_tokens")
            choices = answer.get("choices")
            choice = choices[0] if isinstance(choices, list) and choices else {}
            message = choice.get("message") if isinstance(choice, dict) else None
            message = message if isinstance(message, dict) else {}
            refusal = message.get("refusal")
            if isinstance(refusal, str) and refusal:
                raise failed(ModelErrorKind.REFUSED, f"the model declined: {refusal}")
            if isinstance(choice, dict) and choice.get("finish_reason") == "length":
                if truncated:
                    raise failed(ModelErrorKind.TRUNCATED,
                                 f"the model's answer was cut off twice (max_tokens "
                                 f"{max_tokens // 2}, then {max_tokens})")
                truncated, max_tokens = True, max_tokens * 2
                continue
            try:
                value = self._read(message.get("content"), schema, read)
            except _Retry as wrong:
                malformed += 1
                if malformed > self._retries:
                    raise failed(ModelErrorKind.MALFORMED,
                                 f"the model's answer did not fit the schema "
                                 f"{malformed} times: {wrong.message}") from None
                log.info("%s: asking again after an answer that did not fit (%s)",
                         self._provider, wrong.message)
                continue
            return value, Usage(self._provider, self._model, spent[0], spent[1])

    @staticmethod
    def _read(content: object, schema: Mapping[str, Any],
                 read: Callable[[Mapping[str, Any]], T]) -> T:
        if not isinstance(content, str):
            raise _Retry(ModelErrorKind.MALFORMED, "the answer had no content")
        try:
            document = json.loads(content)
        except ValueError as error:
            raise _Retry(ModelErrorKind.MALFORMED, f"not JSON ({error})") from None
        wrong = problems(document, schema)
        if wrong:
            raise _Retry(ModelErrorKind.MALFORMED, "; ".join(wrong[:3]))
        try:
            return read(document)
        except ValidationFailed as failed:
            raise _Retry(ModelErrorKind.MALFORMED, str(failed)) from None

    def _post(self, payload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The answer of a 2xx; 429, 5xx and transport errors retried (see the module
        docstring)."""
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retries + 1), wait=self._wait,
            retry=tenacity.retry_if_exception_type(_Retry), sleep=self._sleep,
            before_sleep=self._log_retry, reraise=True)
        try:
            response = retrying(self._attempt, payload)
        except _Retry as last:
            raise ModelError(last.kind, f"{last.message} after {self._retries + 1} attempts",
                             retry_after=None if last.wait is None else math.ceil(last.wait)
                             ) from None
        return answer_object(response)

    def _attempt(self, payload: Mapping[str, Any]) -> httpx.Response:
        try:
            response = self._http.post("/chat/completions", json=payload)
        except httpx.TransportError as error:
            raise _Retry(ModelErrorKind.UNAVAILABLE,
                         f"{self._provider} did not answer ({type(error).__name__})") from None
        status = response.status_code
        if status == 429:
            wait = retry_after(response.headers.get("Retry-After"), datetime.now(UTC))
            if wait is not None and wait > self._longest_wait:
                raise ModelError(ModelErrorKind.THROTTLED,
                                 f"{self._provider} throttled the request (429) for "
                                 f"{math.ceil(wait)} s" + self._detail(response),
                                 retry_after=math.ceil(wait))
            raise _Retry(ModelErrorKind.THROTTLED,
                         f"{self._provider} throttled the request (429)"
                         + self._detail(response), wait)
        if status >= 500:
            raise _Retry(ModelErrorKind.UNAVAILABLE,
                         f"{self._provider} answered {status}" + self._detail(response))
        if status in (401, 403):
            raise ModelError(ModelErrorKind.NOT_CONFIGURED,
                             f"{self._provider} refused the API key ({status}): check "
                             "LAD_LLM_API_KEY" + self._detail(response))
        if status == 404:
            raise ModelError(ModelErrorKind.NOT_CONFIGURED,
                             f"{self._provider} knows no model {self._model!r} at this URL "
                             "(404): check LAD_LLM_MODEL and LAD_LLM_BASE_URL"
                             + self._detail(response))
        if not response.is_success:
            raise ModelError(ModelErrorKind.UNAVAILABLE,
                             f"{self._provider} refused the request ({status})"
                             + self._detail(response))
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, _Retry) and error.wait is not None:
            return error.wait
        return float(self._backoff(state))

    def _detail(self, response: httpx.Response) -> str:
        message = error_message(response).replace(self._key, "***")
        return f": {message[:300]}" if message else ""

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info("%s: asking again after %s (attempt %d)", self._provider,
                 error if isinstance(error, _Retry) else type(error).__name__,
                 state.attempt_number)


def _tokens(usage: Mapping[str, Any], key: str) -> int:
    value = usage.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
