"""Access tokens: HS256 JSON Web Tokens with an expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import jwt

from lad_domain.shared.clock import Clock
from lad_domain.shared.errors import AuthenticationFailed

ISSUER = "lad"
#: Verified tokens kept per process (a request's bearer is usually one seen a moment ago).
VERIFIED_TOKENS = 4096


class JwtTokenIssuer:
    def __init__(self, secret: str, clock: Clock, *, ttl: timedelta = timedelta(hours=12)
                 ) -> None:
        if len(secret.encode()) < 32:
            raise ValueError("the JWT secret must be at least 32 bytes")
        self._secret = secret
        self._clock = clock
        self._ttl = ttl
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def issue(self, claims: dict[str, Any]) -> str:
        now = self._clock.now()
        payload = {**claims, "iss": ISSUER, "iat": int(now.timestamp()),
                   "exp": int((now + self._ttl).timestamp())}
        return jwt.encode(payload, self._secret, algorithm="HS256")

    def read(self, token: str) -> dict[str, Any]:
        """The token's claims. Its signature is verified once per process: a token (the
        exact text) whose signature held is kept, at most ``VERIFIED_TOKENS`` of them, the
        oldest dropped first. Its expiry is checked on every read, and the member's role is
        the database's, read in the use case, not this claim."""
        claims = self._verified.get(token)
        if claims is None:
            claims = self._verify(token)
            with self._lock:
                if len(self._verified) >= VERIFIED_TOKENS:
                    del self._verified[next(iter(self._verified))]
                self._verified[token] = claims
        # Expiry against the injected clock, so tests and replays agree with production.
        if claims["exp"] <= self._clock.now().timestamp():
            raise AuthenticationFailed("the access token has expired")
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, self._secret, algorithms=["HS256"], issuer=ISSUER,
                options={"require": ["exp", "iat", "iss"], "verify_exp": False},
            )
        except jwt.PyJWTError:
            raise AuthenticationFailed("the access token is invalid") from None
        return claims
