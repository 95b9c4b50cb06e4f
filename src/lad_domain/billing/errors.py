"""Billing's own errors: refusals that callers must tell apart."""

from __future__ import annotations

from lad_domain.shared.errors import InsufficientFunds


class QuotaExhausted(InsufficientFunds):
    """The plan refuses usage beyond the monthly quota."""

    code = "quota_exhausted"

