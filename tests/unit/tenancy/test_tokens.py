"""Access tokens: a verified token is kept, and still expires on time; a forged or
tampered one is refused every time; the kept tokens are bounded."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lad_adapters.security import tokens
from lad_adapters.security.tokens import JwtTokenIssuer
from lad_domain.shared.clock import FixedClock
from lad_domain.shared.errors import AuthenticationFailed

SECRET = "s" * 32


def test_a_kept_token_still_expires() -> None:
    clock = FixedClock()
    issuer = JwtTokenIssuer(SECRET, clock, ttl=timedelta(minutes=5))
    token = issuer.issue({"sub": "u"})
    assert issuer.read(token)["sub"] == "u"
    assert issuer.read(token)["sub"] == "u"  # kept
    clock.advance(timedelta(minutes=5))
    with pytest.raises(AuthenticationFailed, match="expired"):
        issuer.read(token)


def test_a_claim_read_back_cannot_change_the_kept_one() -> None:
    issuer = JwtTokenIssuer(SECRET, FixedClock())
    token = issuer.issue({"sub": "u"})
    issuer.read(token)["sub"] = "someone else"
    assert issuer.read(token)["sub"] == "u"


def test_a_token_of_another_secret_or_tampered_is_refused_every_time() -> None:
    clock = FixedClock()
    issuer = JwtTokenIssuer(SECRET, clock)
    forged = JwtTokenIssuer("f" * 32, clock).issue({"sub": "u"})
    tampered = issuer.issue({"sub": "u"})[:-2] + "xx"
    for token in (forged, tampered, forged):
        with pytest.raises(AuthenticationFailed, match="invalid"):
            issuer.read(token)


def test_the_kept_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "VERIFIED_TOKENS", 3)
    issuer = JwtTokenIssuer(SECRET, FixedClock())
    issued = [issuer.issue({"sub": str(n)}) for n in range(5)]
    for token in issued:
        issuer.read(token)
    assert list(issuer._verified) == issued[2:]
    assert issuer.read(issued[0])["sub"] == "0"  # verified again
