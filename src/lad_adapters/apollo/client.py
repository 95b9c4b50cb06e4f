"""Apollo's HTTP API (``lad_domain.enrichment.ports.Apollo``) over httpx.

The shapes used (docs.apollo.io, "People API Search", "Organization Search", "Bulk
People Enrichment"); every request is a POST with a JSON body and ``x-api-key``:

- ``/mixed_people/api_search``: the filters, ``page``, ``per_page`` (arrays as JSON
  arrays) answer ``{"people": [...], "pagination": {"page", "per_page",
  "total_entries", "total_pages"}}`` (``total_entries`` may also be at the top). A
  person: ``id``, ``first_name``, ``last_name`` (the free search gives only
  ``last_name_obfuscated``: read as no last name), ``title``, ``seniority``,
  ``linkedin_url``, ``city``, ``state``, ``country``, ``organization`` (``id``, ``name``,
  ``primary_domain``, else the host of ``website_url``). Emails and phones are never
  read from a search;
- ``/mixed_companies/search``: ``{"organizations": [...]}`` (or ``"accounts"``) and the
  same ``pagination``;
- ``/people/bulk_match``: ``{"details": [...], "reveal_personal_emails": false}`` (at
  most ``MATCH_BATCH``) answers ``{"matches": [person or null, ...]}`` in the order
  asked; a match's ``email`` (not Apollo's ``email_not_unlocked@`` placeholder) and
  phone (``phone_numbers[0].sanitized_number``, else ``sanitized_phone``).

Errors (``ApolloError``): a 429 is waited out and retried when its Retry-After is at most
``max_wait`` seconds (``max_retries`` times), else THROTTLED with ``retry_after``; 401
and 403 are UNAUTHORIZED; other 4xx REJECTED with Apollo's message; 5xx, a refused
connection and a timeout are retried with a doubling backoff, then UNAVAILABLE; a 2xx
whose body is not a JSON object is UNAVAILABLE. All three calls are safe to resend:
searches read, and a match reveals the same person again (Apollo bills a person once).
No message carries the key.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from lad_adapters.http_client import ClosesItsClient, error_message
from lad_adapters.unipile import retry_after
from lad_adapters.voice.normalise import mapping, text
from lad_domain.enrichment.model import CompanyFilters, Organization, PeopleFilters, Person
from lad_domain.enrichment.ports import (
    MATCH_BATCH,
    ApolloError,
    ApolloErrorKind,
    MatchRequest,
    ProviderPage,
)

log = logging.getLogger(__name__)

DEFAULT_URL: Final = "https://api.apollo.io/api/v1"
_LOCKED_EMAIL = "email_not_unlocked@"


class ApolloClient(ClosesItsClient[httpx.Client]):
    """``sleep`` waits between attempts (tests record it instead); ``now`` reads a
    Retry-After given as a date."""

    def __init__(self, base_url: str, api_key: str, *, timeout: float = 20.0,
                 max_retries: int = 2, sleep: Callable[[float], None] = time.sleep,
                 backoff: float = 0.5, max_wait: float = 10.0,
                 now: Callable[[], datetime] | None = None,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not api_key:
            raise ValueError("Apollo needs an API key")
        self._key = api_key
        self._retries = max(0, max_retries)
        self._sleep = sleep
        self._backoff = backoff
        self._max_wait = max_wait
        self._now = now
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), timeout=timeout, transport=transport,
            headers={"x-api-key": api_key, "Accept": "application/json",
                     "Cache-Control": "no-cache"})

    def search_people(self, filters: PeopleFilters, page: int, per_page: int
                      ) -> ProviderPage[Person]:
        document = self._post("/mixed_people/api_search",
                              {**filters.to_params(), "page": page, "per_page": per_page},
                              "the people search")
        people = tuple(person_of(p) for p in _objects(document.get("people"))
                       if text(p.get("id")))
        return _page(document, people, page, per_page)

    def search_organizations(self, filters: CompanyFilters, page: int, per_page: int
                             ) -> ProviderPage[Organization]:
        document = self._post("/mixed_companies/search",
                              {**filters.to_params(), "page": page, "per_page": per_page},
                              "the organization search")
        found = document.get("organizations") or document.get("accounts")
        organizations = tuple(organization_of(o) for o in _objects(found)
                              if text(o.get("id")))
        return _page(document, organizations, page, per_page)

    def match_people(self, requests: Sequence[MatchRequest]) -> Sequence[Person | None]:
        if len(requests) > MATCH_BATCH:
            raise ValueError(f"Apollo matches at most {MATCH_BATCH} people per call, "
                             f"not {len(requests)}")
        if not requests:
            return []
        details = [_detail(r) for r in requests]
        document = self._post("/people/bulk_match",
                              {"details": details, "reveal_personal_emails": False},
                              f"the match of {len(requests)} people")
        matches = document.get("matches")
        if not isinstance(matches, list) or len(matches) != len(requests):
            raise ApolloError(ApolloErrorKind.UNAVAILABLE,
                              f"Apollo answered the match of {len(requests)} people with "
                              f"{len(matches) if isinstance(matches, list) else 'no'} "
                              "matches")
        return [person_of(m, contact=True) if isinstance(m, dict) and text(m.get("id"))
                else None for m in matches]

    def _post(self, path: str, body: Mapping[str, Any], what: str) -> Mapping[str, Any]:
        attempt = 0
        while True:
            try:
                response = self._http.post(path, json=body)
            except httpx.TransportError as error:
                if attempt < self._retries:
                    attempt = self._wait(attempt, None, what, type(error).__name__)
                    continue
                raise ApolloError(ApolloErrorKind.UNAVAILABLE,
                                  f"Apollo could not be reached for {what} "
                                  f"({type(error).__name__} after {attempt + 1} "
                                  "attempts)") from None
            status = response.status_code
            if status == 429:
                wait = retry_after(response.headers.get("Retry-After"), now=self._now)
                seconds = None if wait is None else wait.total_seconds()
                if attempt < self._retries and (seconds is None or seconds <= self._max_wait):
                    attempt = self._wait(attempt, seconds, what, "429")
                    continue
                raise ApolloError(ApolloErrorKind.THROTTLED,
                                  f"Apollo throttled {what} (429){self._detail(response)}",
                                  retry_after=None if seconds is None else math.ceil(seconds))
            if status >= 500:
                if attempt < self._retries:
                    attempt = self._wait(attempt, None, what, str(status))
                    continue
                raise ApolloError(ApolloErrorKind.UNAVAILABLE,
                                  f"Apollo answered {status} to {what} after {attempt + 1} "
                                  f"attempts{self._detail(response)}")
            if status in (401, 403):
                raise ApolloError(ApolloErrorKind.UNAUTHORIZED,
                                  f"Apollo refused the API key ({status}) for "
                                  f"{what}{self._detail(response)}")
            if not response.is_success:
                raise ApolloError(ApolloErrorKind.REJECTED,
                                  f"Apollo refused {what} ({status})"
                                  f"{self._detail(response)}")
            return self._document(response, what)

    def _wait(self, attempt: int, seconds: float | None, what: str, why: str) -> int:
        wait = seconds if seconds is not None else self._backoff * 2 ** attempt
        log.info("apollo: %s answered %s; retrying in %.1f s (attempt %d)", what, why, wait,
                 attempt + 2)
        self._sleep(wait)
        return attempt + 1

    def _document(self, response: httpx.Response, what: str) -> Mapping[str, Any]:
        try:
            document = response.json()
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise ApolloError(ApolloErrorKind.UNAVAILABLE,
                              f"Apollo answered {what} with {response.status_code} but a "
                              "body that is not a JSON object: "
                              f"{self._scrub(response.text.strip()[:100])!r}")
        return document

    def _detail(self, response: httpx.Response) -> str:
        message = self._scrub(error_message(response))
        return f": {message[:300]}" if message else ""

    def _scrub(self, message: str) -> str:
        return message.replace(self._key, "***")


def _objects(value: object) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _count(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _page(document: Mapping[str, Any], items: tuple[Any, ...], page: int, per_page: int
          ) -> ProviderPage[Any]:
    paging = mapping(document.get("pagination"))
    total = _count(paging.get("total_entries"))
    if total is None:
        total = _count(document.get("total_entries"))
    if total is None:  # unsaid: what this page shows is all we know of
        total = (page - 1) * per_page + len(items)
    return ProviderPage(items=items, page=_count(paging.get("page")) or page,
                        per_page=_count(paging.get("per_page")) or per_page, total=total)


def _detail(request: MatchRequest) -> dict[str, str]:
    fields = {"id": request.apollo_id, "first_name": request.first_name,
              "last_name": request.last_name, "email": request.email,
              "organization_name": request.organization_name, "domain": request.domain,
              "linkedin_url": request.linkedin_url}
    return {k: v for k, v in fields.items() if v}


def host(url: object) -> str | None:
    """The domain of a website URL (``http://www.acme.com/about`` -> ``acme.com``)."""
    address = text(url)
    if address is None:
        return None
    if "//" not in address:
        address = "http://" + address
    name = (urlsplit(address).hostname or "").removeprefix("www.")
    return name or None


def person_of(document: Mapping[str, Any], *, contact: bool = False) -> Person:
    """A person from Apollo's record; ``contact``: with the email and phone a match
    revealed (a search's are never read)."""
    org = mapping(document.get("organization"))
    email = text(document.get("email")) if contact else None
    if email is not None and (email.startswith(_LOCKED_EMAIL) or "@" not in email):
        email = None
    phone = None
    if contact:
        numbers = _objects(document.get("phone_numbers"))
        phone = (text(numbers[0].get("sanitized_number")) if numbers else None) or text(
            document.get("sanitized_phone"))
    return Person(
        apollo_id=str(document["id"]), first_name=text(document.get("first_name")),
        last_name=text(document.get("last_name")), title=text(document.get("title")),
        seniority=text(document.get("seniority")),
        linkedin_url=text(document.get("linkedin_url")), email=email, phone=phone,
        city=text(document.get("city")), state=text(document.get("state")),
        country=text(document.get("country")),
        organization_id=text(org.get("id")) or text(document.get("organization_id")),
        organization_name=text(org.get("name")),
        organization_domain=text(org.get("primary_domain")) or host(org.get("website_url")))


def organization_of(document: Mapping[str, Any]) -> Organization:
    employees = _count(document.get("estimated_num_employees"))
    return Organization(
        apollo_id=str(document["id"]), name=text(document.get("name")),
        domain=text(document.get("primary_domain")) or host(document.get("website_url")),
        industry=text(document.get("industry")), employees=employees,
        city=text(document.get("city")), state=text(document.get("state")),
        country=text(document.get("country")),
        linkedin_url=text(document.get("linkedin_url")),
        website_url=text(document.get("website_url")))
