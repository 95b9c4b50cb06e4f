"""What the call providers' adapters share: one HTTP client that turns answers into
``ProviderError``s, and the small readers that normalise a provider's call into a
``CallEvent`` (times, whole-second durations, exact USD costs, sentiment, the analysis
keys we read, our ids in the metadata, constant-time signatures).

The keys read from a provider's analysis or structured data (the names the agent's
extraction schema must use): ``sentiment``; ``lead_category`` (or ``leadCategory``);
``do_not_call`` (or ``doNotCall``), true when the person asked not to be called again
(``true``, or the text ``"true"``/``"yes"``).

Retries (tenacity) are for GETs only: after a 5xx, a timeout or a failed connection,
``retries`` more times, short backoff. A POST is sent once: a connection that never
opened is UNAVAILABLE (nothing was placed), a timeout or a lost connection after it was
sent is TIMEOUT (it may have been placed), and neither is tried again.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import math
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

import httpx
import tenacity

from lad_adapters.http_client import answer_object, error_message, retry_after
from lad_domain.shared.errors import AuthenticationFailed, ValidationFailed
from lad_domain.voice.model import SENTIMENTS, CallStatus, CostLine
from lad_domain.voice.ports import PlacedCall, ProviderError, ProviderErrorKind

log = logging.getLogger(__name__)

#: How far a signed timestamp may be from our clock.
SIGNATURE_WINDOW: Final = timedelta(minutes=5)
#: The metadata keys our call and tenant ids travel under (they come back in webhooks).
CALL_ID_KEY: Final = "lad_call_id"
TENANT_ID_KEY: Final = "lad_tenant_id"

_SENTIMENT_ALIASES = {"frustrated": "negative", "angry": "negative", "happy": "positive"}
_TRUE_TEXT = frozenset({"true", "yes", "1"})
_NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- reading values ------------------------------------------------------------------------

def text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def first_text(*values: object) -> str | None:
    return next((t for t in (text(v) for v in values) if t is not None), None)


def number(value: object) -> Decimal | None:
    """A JSON number as an exact Decimal: a float through its shortest repr
    (``0.1234`` -> ``Decimal("0.1234")``, never the binary expansion); None when absent or
    not a finite number."""
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        return None
    try:
        result = value if isinstance(value, Decimal) else Decimal(str(value))
    except InvalidOperation:
        return None
    return result if result.is_finite() else None


def usd(value: object) -> Decimal | None:
    return number(value)


def cents(value: object) -> Decimal | None:
    """Cents as exact USD (``1234`` -> ``Decimal("12.34")``)."""
    amount = number(value)
    return amount.scaleb(-2) if amount is not None else None


def moment(value: object) -> datetime | None:
    """An ISO-8601 text or milliseconds since the epoch, as an aware UTC datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def whole_seconds(seconds: object, started: datetime | None, ended: datetime | None
                  ) -> int | None:
    """A duration in whole seconds, a started second counting as one (as per-second
    billing does); from the timestamps when the provider gives none."""
    given = number(seconds)
    if given is None and started is not None and ended is not None:
        given = Decimal(str((ended - started).total_seconds()))
    if given is None or given < 0:
        return None
    return math.ceil(given)


def sentiment(value: object) -> str | None:
    word = (text(value) or "").strip().lower()
    word = _SENTIMENT_ALIASES.get(word, word)
    return word if word in SENTIMENTS else None


def flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in _TRUE_TEXT


def lead_category(data: Mapping[str, Any]) -> str | None:
    return first_text(data.get("lead_category"), data.get("leadCategory"))


def do_not_call(data: Mapping[str, Any]) -> bool:
    return flag(data.get("do_not_call")) or flag(data.get("doNotCall"))


def our_ids(metadata: Mapping[str, Any]) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """Our call and tenant ids from the metadata we sent; None for one that is absent or
    not a UUID (the call is then found by the provider's id)."""
    return _uuid(metadata.get(CALL_ID_KEY)), _uuid(metadata.get(TENANT_ID_KEY))


def _uuid(value: object) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def with_total(lines: list[CostLine], total: Decimal | None) -> tuple[CostLine, ...]:
    """The components, plus an ``adjustment`` line when the provider's stated total
    differs from their sum (so the event's cost is exactly what the provider charged)."""
    if total is None:
        return tuple(lines)
    if not lines:
        return (CostLine("total", total),)
    difference = total - sum((line.amount for line in lines), Decimal(0))
    return tuple(lines) + ((CostLine("adjustment", difference),) if difference else ())


def unique(component: str, taken: set[str]) -> str:
    name, n = component, 2
    while name in taken:
        name, n = f"{component}#{n}", n + 1
    taken.add(name)
    return name


# -- webhooks ------------------------------------------------------------------------------

def header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def hmac_sha256_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def same(expected: str, given: str) -> bool:
    """Constant-time equality of two signatures or secrets."""
    return hmac.compare_digest(expected.encode(), given.strip().encode())


def fresh(signed_at: datetime, now: datetime, provider: str) -> None:
    if abs(now - signed_at) > SIGNATURE_WINDOW:
        raise AuthenticationFailed(
            f"the {provider} webhook's signature is stale: signed at "
            f"{signed_at.isoformat()}, more than 5 minutes from now")


def json_object(body: bytes, provider: str) -> Mapping[str, Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise ValidationFailed.single("body", f"the {provider} webhook is not JSON: "
                                              f"{error}") from error
    if not isinstance(document, dict):
        raise ValidationFailed.single("body", f"the {provider} webhook is not a JSON object")
    return document


# -- HTTP ----------------------------------------------------------------------------------

class _Retryable(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ProviderHttp:
    """One provider's HTTP API: ``post`` (sent once) and ``get`` (retried), both answering
    the response of a non-5xx status or raising ``ProviderError``."""

    def __init__(self, provider: str, base_url: str, headers: Mapping[str, str], *,
                 timeout: float, retries: int, backoff: float,
                 transport: httpx.BaseTransport | None, clock: Clock) -> None:
        self.provider = provider
        self._secrets = [v.split()[-1] for v in headers.values() if v]
        self._headers = dict(headers)
        self._retries = max(0, retries)
        self._backoff = backoff
        self._clock = clock
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout,
                                  transport=transport, headers={"Accept": "application/json"})

    @property
    def base_url(self) -> str:
        return str(self._http.base_url)

    def close(self) -> None:
        self._http.close()

    def post(self, url: str, *, json: object = None, authorized: bool = True
             ) -> httpx.Response:
        headers = self._headers if authorized else {}
        try:
            response = self._http.post(url, json=json, headers=headers)
        except _NEVER_SENT as error:
            raise ProviderError(ProviderErrorKind.UNAVAILABLE,
                                f"{self.provider} could not be reached "
                                f"({type(error).__name__}); nothing was sent") from error
        except httpx.TransportError as error:
            raise ProviderError(ProviderErrorKind.TIMEOUT,
                                f"{self.provider} did not answer ({type(error).__name__}) "
                                f"after the request was sent: it may have been "
                                f"done") from error
        return self.checked(response)

    def get(self, url: str) -> httpx.Response:
        def attempt() -> httpx.Response:
            response = self._http.get(url, headers=self._headers)
            if response.status_code >= 500:
                raise _Retryable(response)
            return response
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self._retries + 1),
            wait=(tenacity.wait_exponential(multiplier=self._backoff, max=self._backoff * 8)
                  + tenacity.wait_random(0, self._backoff)),
            retry=tenacity.retry_if_exception_type((_Retryable, httpx.TransportError)),
            before_sleep=self._log_retry, reraise=True)
        try:
            return self.checked(retrying(attempt))
        except _Retryable as last:
            return self.checked(last.response)
        except httpx.TransportError as error:
            raise ProviderError(ProviderErrorKind.UNAVAILABLE,
                                f"{self.provider} did not answer ({type(error).__name__} "
                                f"after {self._retries + 1} attempts)") from error

    def checked(self, response: httpx.Response) -> httpx.Response:
        """The response when it is not an error a caller cannot act on: 2xx and 4xx other
        than 429 come back (a caller reads 404 and its own refusals); 429 and 5xx raise."""
        status = response.status_code
        if status == 429:
            raise ProviderError(ProviderErrorKind.THROTTLED,
                                f"{self.provider} throttled the request (429)"
                                + self._detail(response),
                                retry_after=retry_after(response.headers.get("Retry-After"),
                                                        self._clock()))
        if status >= 500:
            raise ProviderError(ProviderErrorKind.UNAVAILABLE,
                                f"{self.provider} answered {status}" + self._detail(response))
        return response

    def place(self, url: str, body: object, *, to: str, id_key: str, status_key: str,
              live: Mapping[str, CallStatus]) -> PlacedCall:
        """POST a call once: the provider's call id and its status now. An answer that
        names no call id may still have placed it (TIMEOUT: never resent)."""
        response = self.post(url, json=body)
        if not response.is_success:
            raise self.refused(response, f"the call to {to}")
        call = answer_object(response)
        provider_call_id = text(call.get(id_key))
        if provider_call_id is None:
            raise ProviderError(ProviderErrorKind.TIMEOUT,
                                f"{self.provider} accepted the call but named no {id_key}: "
                                "it may have been placed")
        return PlacedCall(provider_call_id,
                          live.get(text(call.get(status_key)) or "", CallStatus.QUEUED))

    def call(self, url: str, provider_call_id: str) -> Mapping[str, Any] | None:
        """GET a call (retried): its document, or None when the provider does not know it
        (404)."""
        response = self.get(url)
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self.refused(response, f"to show call {provider_call_id}")
        return answer_object(response)

    def refused(self, response: httpx.Response, what: str) -> ProviderError:
        return ProviderError(ProviderErrorKind.REJECTED,
                             f"{self.provider} refused {what} ({response.status_code})"
                             + self._detail(response))

    def _detail(self, response: httpx.Response) -> str:
        message = error_message(response)
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return f": {message[:300]}" if message else ""

    def _log_retry(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        log.info("%s: retrying a GET after %s (attempt %d)", self.provider,
                 type(error).__name__, state.attempt_number)
