"""Rate limits: requests per API key and per tenant, login attempts per email and per client
address, counted with the ``limits`` library.

Counters are sliding window counters (two numbers per window in the store, weighted: no
burst of twice the rate across a window's edge, and O(1) per request in Redis, where a
moving window would keep one entry per request). They live in the process's memory by
default and in Redis when LAD_REDIS_URL is set, shared by every worker and server.

The store is called synchronously: in memory a call is microseconds; Redis calls (about
0.2 ms each on a local Redis) run in the thread pool, so a slow Redis never stalls the event
loop. A store that cannot be reached lets the request through (it is logged): an outage of
the limiter must not become an outage of the API; password hashing stays bounded anyway.

Headers follow draft-ietf-httpapi-ratelimit-headers-10: every answer to a limited request
names its policies (``RateLimit-Policy: "key";q=600;w=60, "tenant";q=3000;w=60``) and
what is left of each (``RateLimit: "key";r=599;t=1, "tenant";r=2999;t=1``: ``r`` requests
remaining, ``t`` seconds until one more is allowed); a refusal is a 429 problem with
``Retry-After`` in seconds."""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import limits
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from limits.errors import StorageError
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import SlidingWindowCounterRateLimiter
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lad_domain.shared.principal import Principal
from lad_entrypoints.http.errors import problem
from lad_entrypoints.settings import RATE_LIMIT_OFF, Settings

log = logging.getLogger("lad.http")

#: Where the limits of a request are kept for the headers of its answer.
STATE_KEY = "rate_limit_headers"
#: The prefix of every key in Redis (LIMITS is the library's own default).
KEY_PREFIX = "lad"
#: Seconds a Redis call may take before the request goes on unlimited.
REDIS_TIMEOUT = 0.5

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TooManyRequests(Exception):
    """Over a rate limit: answered 429 with Retry-After (seconds) and the RateLimit
    headers."""

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


@dataclass(frozen=True)
class Quota:
    """One configured limit: its policy name (in the headers) and what it counts."""

    policy: str
    item: limits.RateLimitItem


@dataclass(frozen=True)
class Standing:
    quota: Quota
    remaining: int
    reset_in: int


def quotas(scope: str, setting: str) -> list[Quota]:
    """The limits of a setting's value (``600/minute``, ``20/second;600/minute``, ``off``)."""
    if setting == RATE_LIMIT_OFF:
        return []
    items = limits.parse_many(setting)
    if len(items) == 1:
        return [Quota(scope, items[0])]
    return [Quota(f"{scope}-{item.get_expiry()}s", item) for item in items]


class RateLimits:
    """The limits of one API server: request rates and login attempts, counted in this
    process's memory, or in Redis at ``redis_url`` (keys under ``key_prefix``)."""

    def __init__(self, redis_url: str | None = None, *, per_key: Sequence[Quota] = (),
                 per_tenant: Sequence[Quota] = (), per_email: Sequence[Quota] = (),
                 per_address: Sequence[Quota] = (), trusted_proxies: Sequence[Network] = (),
                 key_prefix: str = KEY_PREFIX) -> None:
        self.shared = redis_url is not None
        self.storage: MemoryStorage | RedisStorage = (
            MemoryStorage(wrap_exceptions=True) if redis_url is None
            else RedisStorage(redis_url, key_prefix=key_prefix, wrap_exceptions=True,
                              socket_timeout=REDIS_TIMEOUT,
                              socket_connect_timeout=REDIS_TIMEOUT))
        self._limiter = SlidingWindowCounterRateLimiter(self.storage)
        self._per_key, self._per_tenant = list(per_key), list(per_tenant)
        self._per_email, self._per_address = list(per_email), list(per_address)
        self._proxies = list(trusted_proxies)

    @classmethod
    def from_settings(cls, settings: Settings, *, key_prefix: str = KEY_PREFIX) -> RateLimits:
        proxies = [ipaddress.ip_network(part.strip(), strict=False)
                   for part in (settings.trusted_proxies or "").split(",") if part.strip()]
        return cls(settings.redis_url,
                   per_key=quotas("key", settings.rate_limit_per_key),
                   per_tenant=quotas("tenant", settings.rate_limit_per_tenant),
                   per_email=quotas("email", settings.login_limit_per_email),
                   per_address=quotas("address", settings.login_limit_per_address),
                   trusted_proxies=proxies, key_prefix=key_prefix)

    async def charge_request(self, request: Request, principal: Principal) -> None:
        """Count a request of this principal (the operator is not limited) against its key
        and its tenant; TooManyRequests when either is used up."""
        if principal.is_operator or principal.tenant_id is None:
            return
        credential = principal.api_key_id or principal.user_id
        charges = [(q, f"{principal.kind}:{credential}") for q in self._per_key
                   if credential is not None]
        charges += [(q, str(principal.tenant_id)) for q in self._per_tenant]
        await self._charge(request, charges, "requests")

    async def charge_login(self, request: Request, email: str) -> None:
        """Count a login attempt (successful or not) against the client's address and the
        email, before any password is hashed; TooManyRequests when either is used up."""
        address = self.client_address(request)
        # Emails are kept as digests: no address book in the store.
        email_key = hashlib.sha256(email.strip().lower().encode()).hexdigest()
        charges = [(q, address) for q in self._per_address]
        charges += [(q, email_key) for q in self._per_email]
        await self._charge(request, charges, "login attempts")

    def client_address(self, request: Request) -> str:
        """The connection's peer; behind a trusted proxy, the nearest address in
        X-Forwarded-For that is not a trusted proxy (the ones further left are whatever the
        client chose to send)."""
        peer = request.client.host if request.client else "unknown"
        if not self._trusted(peer):
            return peer
        hops = [hop.strip() for value in request.headers.getlist("x-forwarded-for")
                for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop if _is_address(hop) else peer
        return hops[0] if hops else peer

    def _trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self._proxies)

    async def _charge(self, request: Request, charges: list[tuple[Quota, str]],
                      what: str) -> None:
        if not charges:
            return
        try:
            if self.shared:
                standings, refused = await run_in_threadpool(self._hit, charges)
            else:
                standings, refused = self._hit(charges)
        except StorageError as error:
            log.error("rate limits not counted: their store is unreachable (%s)", error)
            return
        request.scope.setdefault("state", {})[STATE_KEY] = headers(standings)
        if refused is not None:
            raise TooManyRequests(
                f"too many {what} for this {refused.quota.policy.split('-')[0]} "
                f"({refused.quota.item.amount} per {_window(refused.quota.item)}); "
                f"try again in {refused.reset_in} s", retry_after=refused.reset_in)

    def _hit(self, charges: list[tuple[Quota, str]]
             ) -> tuple[list[Standing], Standing | None]:
        """Take one from each quota in turn, stopping at the first one used up; the
        standing of every quota afterwards, and the one that refused."""
        refused: Standing | None = None
        for quota, identity in charges:
            if not self._limiter.hit(quota.item, quota.policy, identity):
                waited = self._standing(quota, identity)
                refused = Standing(quota, 0, max(1, waited.reset_in))
                break
        standings = [refused if refused is not None and refused.quota is quota
                     else self._standing(quota, identity) for quota, identity in charges]
        return standings, refused

    def _standing(self, quota: Quota, identity: str) -> Standing:
        stats = self._limiter.get_window_stats(quota.item, quota.policy, identity)
        reset_in = max(0, math.ceil(stats.reset_time - time.time()))
        return Standing(quota, stats.remaining, reset_in)


def headers(standings: Sequence[Standing]) -> dict[str, str]:
    """The RateLimit-Policy and RateLimit fields (draft-ietf-httpapi-ratelimit-headers-10)."""
    return {
        "RateLimit-Policy": ", ".join(
            f'"{s.quota.policy}";q={s.quota.item.amount};w={s.quota.item.get_expiry()}'
            for s in standings),
        "RateLimit": ", ".join(f'"{s.quota.policy}";r={s.remaining};t={s.reset_in}'
                               for s in standings),
    }


def _window(item: limits.RateLimitItem) -> str:
    seconds = item.get_expiry()
    names = {1: "second", 60: "minute", 3600: "hour", 86_400: "day"}
    return names.get(seconds, f"{seconds} seconds")


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def rate_limits(request: Request) -> RateLimits:
    return cast(RateLimits, request.app.state.rate_limits)


async def charge_request(request: Request, principal: Principal) -> None:
    """Count an authenticated request against its API key's and tenant's rates."""
    await rate_limits(request).charge_request(request, principal)


async def charge_login(request: Request, email: str) -> None:
    """Count a login attempt against its email's and client address's limits."""
    await rate_limits(request).charge_login(request, email)


class RateLimitHeaders:
    """ASGI middleware: the RateLimit headers of the limits a request was counted against,
    on its answer whatever it is (a route's own Response, an error, the 429)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def sending(message: Message) -> None:
            fields = state.get(STATE_KEY)
            if message["type"] == "http.response.start" and fields:
                message = {**message, "headers": [
                    *message.get("headers", ()),
                    *((name.lower().encode(), value.encode()) for name, value in fields.items())]}
            await send(message)

        await self.app(scope, receive, sending)


async def _too_many(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, TooManyRequests)
    return problem(request, 429, exc.detail, "rate_limited",
                   headers={"Retry-After": str(exc.retry_after)})


def install(app: FastAPI, settings: Settings) -> None:
    """The limits of this app, their 429 answer and the headers on every answer."""
    app.state.rate_limits = RateLimits.from_settings(settings)
    app.add_exception_handler(TooManyRequests, _too_many)
    app.add_middleware(RateLimitHeaders)
