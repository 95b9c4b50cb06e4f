"""Checks on what callers send to billing: keys, amounts, usage items, time."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from lad_domain.billing.model import UsageItem, decimal_text
from lad_domain.billing.ports import UsageRequest
from lad_domain.billing.pricing import name
from lad_domain.shared.errors import FieldError, ValidationFailed
from lad_domain.shared.idempotency import fingerprint
from lad_domain.shared.money import amount
from lad_domain.shared.validation import key

_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
#: Balances are NUMERIC(20, 6): one amount stays far below what a balance can hold.
MAX_AMOUNT = Decimal("1000000000000")
MAX_QUANTITY = Decimal("1000000000")
MAX_ITEMS = 50
#: Usage may be recorded late (a retry queue), but not priced from the distant past.
MAX_BACKDATE = timedelta(days=31)
MAX_CLOCK_SKEW = timedelta(minutes=5)


def idempotency_key(value: object, *, field: str = "idempotency_key") -> str:
    if not isinstance(value, str) or not _IDEMPOTENCY_KEY.match(value):
        raise ValidationFailed.single(field, "must be 1-200 visible ASCII characters")
    return value


def exact_amount(value: object, *, field: str = "amount") -> Decimal:
    """A caller's amount at the ledger's scale (more decimal places are refused): a decimal
    string, an integer or a Decimal, never a float."""
    if isinstance(value, Decimal | int | str):
        return amount(value, field=field, exact=True)
    if isinstance(value, float):
        raise ValidationFailed.single(field, "must be a decimal string (not a float or a "
                                      "boolean)")
    raise ValidationFailed.single(field, f"{value!r} is not a decimal number")


def positive_amount(value: object, *, field: str = "amount") -> Decimal:
    result = exact_amount(value, field=field)
    if result <= 0:
        raise ValidationFailed.single(field, "must be greater than zero")
    if result > MAX_AMOUNT:
        raise ValidationFailed.single(field, f"must be at most {MAX_AMOUNT}")
    return result


def signed_amount(value: object, *, field: str = "amount") -> Decimal:
    result = exact_amount(value, field=field)
    if result == 0 or abs(result) > MAX_AMOUNT:
        raise ValidationFailed.single(field, f"must be non-zero and at most {MAX_AMOUNT} "
                                      "either way")
    return result


def non_negative_amount(value: object, *, field: str = "amount") -> Decimal:
    result = exact_amount(value, field=field)
    if result < 0:
        raise ValidationFailed.single(field, "must not be negative")
    return result


def usage_items(raw: object, *, field: str = "usage_items") -> tuple[UsageItem, ...]:
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw:
        raise ValidationFailed.single(field, "must be a non-empty list")
    if len(raw) > MAX_ITEMS:
        raise ValidationFailed.single(field, f"must have at most {MAX_ITEMS} items")
    items, errors = [], []
    for index, item in enumerate(raw):
        try:
            items.append(_usage_item(item, f"{field}[{index}]"))
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    return tuple(items)


_ITEM_FIELDS = frozenset({"category", "provider", "model", "quantity"})


def _usage_item(item: object, where: str) -> UsageItem:
    if not isinstance(item, Mapping):
        raise ValidationFailed.single(where, "must be an object")
    if not _ITEM_FIELDS.issuperset(item):
        unknown = ", ".join(sorted(set(item) - _ITEM_FIELDS))
        raise ValidationFailed.single(where, f"unknown fields: {unknown}")
    raw = item.get("quantity", "")
    quantity = amount(raw, field=f"{where}.quantity")
    if quantity != Decimal(raw if isinstance(raw, int | Decimal) else str(raw)):
        raise ValidationFailed.single(f"{where}.quantity", "has more than 6 decimal places")
    if not 0 < quantity <= MAX_QUANTITY:
        raise ValidationFailed.single(f"{where}.quantity",
                                      f"must be greater than 0 and at most {MAX_QUANTITY}")
    return UsageItem(category=key(item.get("category"), field=f"{where}.category"),
                     quantity=quantity,
                     provider=name(item.get("provider"), field=f"{where}.provider"),
                     model=name(item.get("model"), field=f"{where}.model"))


def usage_request(*, idempotency_key_: object, feature_key: object, items: object,
                  user_id: uuid.UUID | None, occurred_at: datetime | None, now: datetime
                  ) -> UsageRequest:
    """Check every field (all errors at once) and fingerprint the payload. An
    ``occurred_at`` the caller did not give is not part of the payload, so that a retry
    later still matches."""
    errors: list[FieldError] = []
    client_key = feature = ""
    parsed: tuple[UsageItem, ...] = ()
    try:
        client_key = idempotency_key(idempotency_key_)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    try:
        feature = key(feature_key, field="feature_key")
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    try:
        parsed = usage_items(items)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    try:
        _occurred(occurred_at, now)
    except ValidationFailed as failed:
        errors.extend(failed.errors)
    if errors:
        raise ValidationFailed(errors)
    occurred_at = occurred_at.astimezone(UTC) if occurred_at else None
    payload = {"feature_key": feature, "user_id": user_id,
               "occurred_at": occurred_at.isoformat() if occurred_at else None,
               "items": [[i.category, i.provider, i.model, decimal_text(i.quantity)]
                         for i in parsed]}
    return UsageRequest(idempotency_key=client_key, feature_key=feature, items=parsed,
                        occurred_at=occurred_at or now, fingerprint=fingerprint(payload),
                        user_id=user_id)


def _occurred(at: datetime | None, now: datetime) -> None:
    if at is None:
        return
    if at.tzinfo is None:
        raise ValidationFailed.single("occurred_at", "must name its time zone")
    if at > now + MAX_CLOCK_SKEW:
        raise ValidationFailed.single("occurred_at", "is in the future")
    if at < now - MAX_BACKDATE:
        raise ValidationFailed.single("occurred_at",
                                      f"is more than {MAX_BACKDATE.days} days ago")
