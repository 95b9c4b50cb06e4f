"""The simulated Apollo: a real HTTP service on loopback that speaks Apollo's people
search, organisation search and people match over a deterministic synthetic population
(``population.py``). The application's embedded default when no Apollo key is set, and
the tests' Apollo.

The API (JSON bodies; ``x-api-key`` must be the key it was started with; the paths are
also served under ``/api/v1``, as Apollo's are):

- ``POST /mixed_people/api_search``: a ``PeopleFilters`` body plus ``page`` and
  ``per_page`` answers ``{"people": [...], "pagination": {"page", "per_page",
  "total_entries", "total_pages"}, "total_entries"}``; a person has ``id``,
  ``first_name``, ``last_name_obfuscated`` (never the last name), ``title``,
  ``seniority``, ``linkedin_url``, ``city``, ``state``, ``country``, ``has_email`` and
  ``organization`` (``id``, ``name``, ``primary_domain``, ``website_url``);
- ``POST /mixed_companies/search``: a ``CompanyFilters`` body plus paging answers
  ``{"organizations": [...], "pagination": {...}}``;
- ``POST /people/bulk_match``: ``{"details": [{"id"?, "email"?, "linkedin_url"?,
  "first_name", "last_name", "domain"?, "organization_name"?}, ...]}`` (at most 10)
  answers ``{"matches": [person or null, ...]}`` in order: a person found by id, else by
  email, else by LinkedIn URL, else by first and last name at the domain or the
  organisation named, with the full name, ``email`` and ``phone_numbers``.

Refusals, as Apollo's: 401 ``{"error"}`` without the key; 422 ``{"error"}`` for a body
that is not a search, a ``per_page`` outside 1-100, more than 10 details, and a page
that reaches past 50,000 records (``total_entries`` still counts everyone found).

Chaos for tests: ``fail_next`` scripts the next answers (a 429 with its Retry-After, a
500, a body that is not JSON); ``requests`` logs every request, answered or refused.
"""

from __future__ import annotations

import hmac
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler
from typing import Any, Final, Self, TypeVar

import attrs

from lad_adapters.apollo.population import Org, PersonRecord, Population
from lad_adapters.loopback import LoopbackServer
from lad_domain.enrichment.model import (
    MAX_PER_PAGE,
    MAX_RECORDS,
    CompanyFilters,
    PeopleFilters,
)
from lad_domain.enrichment.ports import MATCH_BATCH
from lad_domain.shared.errors import ValidationFailed

log = logging.getLogger(__name__)

PEOPLE_SEARCH: Final = "/mixed_people/api_search"
COMPANY_SEARCH: Final = "/mixed_companies/search"
PEOPLE_MATCH: Final = "/people/bulk_match"
_PREFIXES = ("/api/v1", "/v1")
T = TypeVar("T")


class Refused(Exception):
    """A request the service answers with an error: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@attrs.frozen
class Received:
    """One request: its endpoint, its JSON body (None when it was not JSON), the status
    answered, and the seconds the service took to answer it."""

    endpoint: str
    body: Any
    status: int
    seconds: float


@attrs.frozen
class _Scripted:
    status: int
    retry_after: str | None
    body: bytes | None


class LocalApollo(LoopbackServer):
    """``LocalApollo(key).start()`` (or ``with``), give its ``url`` to ``ApolloClient``,
    ``stop()`` it. The population is drawn at ``start()`` (a fifth of a second for the
    default 2,000 organisations and their ~115,000 people)."""

    name = "local Apollo"
    thread_name = "lad-local-apollo"

    def __init__(self, api_key: str, *, seed: int = 7, organizations: int = 2000,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        if not api_key:
            raise ValueError("the local Apollo needs an API key")
        self.seed = seed
        self.requests: list[Received] = []
        self._key = api_key.encode()
        self._organizations = organizations
        self._population: Population | None = None
        self._address = (host, port)
        self._scripted: deque[_Scripted] = deque()
        self._lock = threading.Lock()

    @property
    def population(self) -> Population:
        if self._population is None:
            self._population = Population(seed=self.seed, organizations=self._organizations)
        return self._population

    def handler(self) -> type[BaseHTTPRequestHandler]:
        return _handler(self)

    def start(self) -> Self:
        _ = self.population  # drawn now, not at the first request
        return super().start()

    # -- chaos and the log -----------------------------------------------------------------

    def fail_next(self, status: int, count: int = 1, *, retry_after: int | str | None = None,
                  body: bytes | None = None) -> None:
        """Answer the next ``count`` requests (any endpoint) with ``status``, a
        ``Retry-After`` header when given, and ``body`` (else ``{"error": ...}``); they
        are not served."""
        with self._lock:
            self._scripted.extend(
                [_Scripted(status, None if retry_after is None else str(retry_after), body)]
                * count)

    def count(self, endpoint: str | None = None) -> int:
        """Requests received (at ``endpoint``, e.g. ``PEOPLE_MATCH``), refused ones too."""
        with self._lock:
            return sum(1 for r in self.requests if endpoint in (None, r.endpoint))

    def reset(self) -> None:
        """Forget the requests received and the answers scripted."""
        with self._lock:
            self.requests.clear()
            self._scripted.clear()

    def authorized(self, key: str | None) -> bool:
        return hmac.compare_digest((key or "").encode(), self._key)

    def _next_scripted(self) -> _Scripted | None:
        with self._lock:
            return self._scripted.popleft() if self._scripted else None

    def _log(self, received: Received) -> None:
        with self._lock:
            self.requests.append(received)

    # -- the API ---------------------------------------------------------------------------

    def answer(self, endpoint: str, body: Any) -> dict[str, Any]:
        """The answer to a request at ``endpoint`` (``Refused`` says why not)."""
        serve = {PEOPLE_SEARCH: self._people, COMPANY_SEARCH: self._companies,
                 PEOPLE_MATCH: self._match}.get(endpoint)
        if serve is None:
            raise Refused(404, f"no such endpoint: {endpoint}")
        if not isinstance(body, dict):
            raise Refused(422, "the body must be a JSON object")
        return serve(body)

    def _people(self, body: dict[str, Any]) -> dict[str, Any]:
        page, per_page, params = _paging(body)
        filters = _filters(lambda: PeopleFilters.parse(params, field="body"))
        population = self.population
        found = population.people_mask(filters)
        total = found.bit_count()
        people = [_searched(p) for p in population.page(found, (page - 1) * per_page,
                                                        per_page)]
        return {"people": people, "total_entries": total,
                "pagination": _pagination(page, per_page, total)}

    def _companies(self, body: dict[str, Any]) -> dict[str, Any]:
        page, per_page, params = _paging(body)
        filters = _filters(lambda: CompanyFilters.parse(params, field="body"))
        found = self.population.organizations(filters)
        start = (page - 1) * per_page
        return {"organizations": [_organization(o) for o in found[start:start + per_page]],
                "pagination": _pagination(page, per_page, len(found))}

    def _match(self, body: dict[str, Any]) -> dict[str, Any]:
        details = body.get("details")
        if not isinstance(details, list) or not all(isinstance(d, dict) for d in details):
            raise Refused(422, "details must be a list of objects")
        if len(details) > MATCH_BATCH:
            raise Refused(422, f"at most {MATCH_BATCH} details can be matched at once")
        found = [self._find(d) for d in details]
        return {"status": "success", "matches": [None if p is None else _matched(p)
                                                  for p in found]}

    def _find(self, detail: Mapping[str, Any]) -> PersonRecord | None:
        population = self.population
        text = {k: v.strip() for k, v in detail.items() if isinstance(v, str) and v.strip()}
        person = None
        if "id" in text:
            person = population.by_id(text["id"])
        if person is None and "email" in text:
            person = population.by_email(text["email"])
        if person is None and "linkedin_url" in text:
            person = population.by_linkedin(text["linkedin_url"])
        if person is None and "first_name" in text and "last_name" in text:
            person = population.by_name(text["first_name"], text["last_name"],
                                        domain=text.get("domain"),
                                        organization=text.get("organization_name"))
        return person


def _paging(body: dict[str, Any]) -> tuple[int, int, dict[str, Any]]:
    params = dict(body)
    page, per_page = params.pop("page", 1), params.pop("per_page", 10)
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise Refused(422, "page must be a whole number from 1")
    if (isinstance(per_page, bool) or not isinstance(per_page, int)
            or not 1 <= per_page <= MAX_PER_PAGE):
        raise Refused(422, f"per_page must be a whole number from 1 to {MAX_PER_PAGE}")
    if page * per_page > MAX_RECORDS:
        raise Refused(422, f"Apollo returns at most {MAX_RECORDS} records per search: "
                            f"page {page} of {per_page} reaches past them; narrow the "
                            "search")
    return page, per_page, params


def _filters(parse: Callable[[], T]) -> T:
    try:
        return parse()
    except ValidationFailed as refused:
        raise Refused(422, refused.message) from None


def _pagination(page: int, per_page: int, total: int) -> dict[str, int]:
    return {"page": page, "per_page": per_page, "total_entries": total,
            "total_pages": math.ceil(total / per_page)}


def _obfuscated(name: str) -> str:
    return f"{name[0]}***{name[-1]}" if len(name) > 2 else f"{name[0]}***"


def _searched(person: PersonRecord) -> dict[str, Any]:
    """A person as the free search shows them: no last name, email or phone."""
    org, place = person.org, person.location
    return {"id": person.id, "first_name": person.first_name,
            "last_name_obfuscated": _obfuscated(person.last_name), "title": person.title,
            "seniority": person.seniority, "linkedin_url": person.linkedin_url,
            "city": place.city, "state": place.state, "country": place.country,
            "has_email": True, "has_direct_phone": "Yes", "organization_id": org.id,
            "organization": {"id": org.id, "name": org.name, "primary_domain": org.domain,
                             "website_url": f"http://www.{org.domain}"}}


def _matched(person: PersonRecord) -> dict[str, Any]:
    place = person.location
    return {"id": person.id, "first_name": person.first_name,
            "last_name": person.last_name, "name": f"{person.first_name} {person.last_name}",
            "title": person.title, "seniority": person.seniority,
            "linkedin_url": person.linkedin_url, "email": person.email,
            "email_status": "verified", "city": place.city, "state": place.state,
            "country": place.country, "organization_id": person.org.id,
            "organization": _organization(person.org),
            "phone_numbers": [{"raw_number": person.phone, "sanitized_number": person.phone,
                               "type": "work_direct", "position": 0}]}


def _organization(org: Org) -> dict[str, Any]:
    place = org.place
    return {"id": org.id, "name": org.name, "website_url": f"http://www.{org.domain}",
            "linkedin_url": f"http://www.linkedin.com/company/{org.domain.split('.')[0]}",
            "primary_domain": org.domain, "industry": org.industry,
            "keywords": list(org.keywords), "estimated_num_employees": org.employees,
            "founded_year": org.founded_year, "city": place.city, "state": place.state,
            "country": place.country}


def _endpoint(path: str) -> str:
    path = path.split("?", 1)[0].rstrip("/")
    for prefix in _PREFIXES:
        if path.startswith(prefix + "/"):
            return path.removeprefix(prefix)
    return path


def _json(status: int, document: Mapping[str, Any]
          ) -> tuple[int, bytes, Mapping[str, str]]:
    return status, json.dumps(document).encode(), {}


def _handler(service: LocalApollo) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # kept alive: the client reuses its connection
        # Headers and body are written apart: without this, Nagle's algorithm and the
        # client's delayed ACK hold each answer for 40 ms.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            log.debug("local apollo: " + format, *args)

        def do_POST(self) -> None:
            started = time.perf_counter()
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            endpoint = _endpoint(self.path)
            try:
                body = json.loads(raw) if raw else None
            except (UnicodeDecodeError, ValueError):
                body = None
            status, answer, headers = self._serve(endpoint, raw, body)
            # Logged before it is sent: a client that has its answer finds it in the log.
            service._log(Received(endpoint, body, status, time.perf_counter() - started))
            self._answer(status, answer, headers)

        def do_GET(self) -> None:
            self._answer(*_json(404, {"error": "not found"}))

        def _serve(self, endpoint: str, raw: bytes, body: Any
                   ) -> tuple[int, bytes, Mapping[str, str]]:
            scripted = service._next_scripted()
            if scripted is not None:
                headers = ({"Retry-After": scripted.retry_after}
                           if scripted.retry_after is not None else {})
                return scripted.status, (scripted.body if scripted.body is not None else (
                    json.dumps({"error": f"scripted answer {scripted.status}"}).encode())
                ), headers
            if not service.authorized(self.headers.get("x-api-key")):
                return _json(401, {"error": "Invalid access credentials."})
            if raw and body is None:
                return _json(422, {"error": "the body is not JSON"})
            try:
                return _json(200, service.answer(endpoint, body))
            except Refused as refused:
                return _json(refused.status, {"error": refused.message})

        def _answer(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    return Handler
