"""Access tokens: HS256 JSON Web Tokens with an expiry, signed with rotating keys.

Every token names its key in its ``kid`` header: the first 8 bytes of the key's SHA-256,
base64url. The current secret signs; the previous ones (LAD_JWT_PREVIOUS_SECRETS) still
verify the tokens they signed until they are removed, so the key rotates without logging
everyone out. A token without a ``kid`` (issued before key ids) is tried against every
accepted key; a ``kid`` no accepted key has is refused like any other bad token."""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import jwt

from lad_domain.shared.clock import Clock
from lad_domain.shared.errors import AuthenticationFailed

ISSUER = "lad"
#: Verified tokens kept per process (a request's bearer is usually one seen a moment ago).
VERIFIED_TOKENS = 4096
MIN_SECRET_BYTES = 32


def key_id(secret: str) -> str:
    """The ``kid`` of a signing secret: names it without revealing it."""
    digest = hashlib.sha256(secret.encode()).digest()[:8]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class JwtTokenIssuer:
    def __init__(self, secret: str, clock: Clock, *, ttl: timedelta = timedelta(hours=12),
                 previous_secrets: Sequence[str] = ()) -> None:
        for position, key in enumerate([secret, *previous_secrets]):
            if len(key.encode()) < MIN_SECRET_BYTES:
                which = "the JWT secret" if position == 0 else f"previous JWT secret {position}"
                raise ValueError(f"{which} must be at least {MIN_SECRET_BYTES} bytes")
        self._secret = secret
        self._kid = key_id(secret)
        # The current key first: a token without a kid is most likely its.
        self._keys: dict[str, str] = {self._kid: secret}
        for key in previous_secrets:
            self._keys.setdefault(key_id(key), key)
        self._clock = clock
        self._ttl = ttl
        self._verified: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    @property
    def kid(self) -> str:
        return self._kid

    def issue(self, claims: dict[str, Any]) -> str:
        now = self._clock.now()
        payload = {**claims, "iss": ISSUER, "iat": int(now.timestamp()),
                   "exp": int((now + self._ttl).timestamp())}
        return jwt.encode(payload, self._secret, algorithm="HS256",
                          headers={"kid": self._kid})

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
        for secret in self._candidates(token):
            try:
                claims: dict[str, Any] = jwt.decode(
                    token, secret, algorithms=["HS256"], issuer=ISSUER,
                    options={"require": ["exp", "iat", "iss"], "verify_exp": False},
                )
            except jwt.InvalidSignatureError:
                continue
            except jwt.PyJWTError:
                break
            return claims
        raise AuthenticationFailed("the access token is invalid")

    def _candidates(self, token: str) -> list[str]:
        """The keys that may have signed the token: the one its kid names (none when no
        accepted key has that id), or every accepted key for a token without a kid."""
        try:
            kid = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            return []
        if kid is None:
            return list(self._keys.values())
        if not isinstance(kid, str) or kid not in self._keys:
            return []
        return [self._keys[kid]]
