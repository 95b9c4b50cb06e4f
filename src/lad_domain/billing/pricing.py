"""The pricing catalog: unit prices by category, provider and model, in force over time;
global rows and per-tenant overrides; loading a catalog document."""

from __future__ import annotations

import enum
import re
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal

import attrs

from lad_domain.billing.model import CURRENCY, PricedItem, UsageItem
from lad_domain.shared.errors import Conflict, FieldError, ValidationFailed
from lad_domain.shared.money import amount, unit_price
from lad_domain.shared.validation import key

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+-]{0,99}$")
_UNIT = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
PriceKey = tuple[uuid.UUID | None, str, str | None, str | None]


@attrs.frozen
class PriceTerms:
    """What a price says. ``tenant_id`` None: the global price; otherwise that tenant's
    override. ``provider`` / ``model`` None: any provider / model of the category."""

    category: str
    unit_price: Decimal
    effective_from: datetime
    tenant_id: uuid.UUID | None = None
    provider: str | None = None
    model: str | None = None
    unit: str = "unit"
    effective_to: datetime | None = None

    @property
    def key(self) -> PriceKey:
        return self.tenant_id, self.category, self.provider, self.model


@attrs.frozen
class Price(PriceTerms):
    """A catalog row: its terms, stored."""

    id: uuid.UUID = attrs.field(kw_only=True)
    created_at: datetime = attrs.field(kw_only=True)

    def in_force(self, at: datetime) -> bool:
        return self.effective_from <= at and (self.effective_to is None or at < self.effective_to)

    def matches(self, item: UsageItem) -> bool:
        return (self.category == item.category
                and self.provider in (None, item.provider)
                and self.model in (None, item.model))

    def specificity(self) -> tuple[bool, bool, bool]:
        """A tenant's override beats the global price; a named provider beats any, and a
        named model beats any."""
        return self.tenant_id is not None, self.provider is not None, self.model is not None


def best_price(candidates: Iterable[Price], item: UsageItem, at: datetime) -> Price | None:
    found = [p for p in candidates if p.matches(item) and p.in_force(at)]
    return max(found, key=Price.specificity) if found else None


def price_items(items: Sequence[UsageItem], candidates: Sequence[Price], at: datetime
                ) -> tuple[PricedItem, ...]:
    """Each item at the price in force at ``at``; an item without a price is refused."""
    priced, errors = [], []
    for index, item in enumerate(items):
        price = best_price(candidates, item, at)
        if price is None:
            errors.append(FieldError(f"usage_items[{index}]", "no price in the catalog for "
                                     f"{'/'.join(p or '*' for p in item.price_key)}"))
            continue
        each = unit_price(price.unit_price)
        priced.append(PricedItem(category=item.category, provider=item.provider,
                                 model=item.model, quantity=item.quantity, unit_price=each,
                                 cost=amount(item.quantity * each), price_id=price.id))
    if errors:
        raise ValidationFailed(errors)
    return tuple(priced)


class LoadMode(enum.StrEnum):
    EXTEND = "extend"
    REPLACE = "replace"


@attrs.frozen
class PriceSpec(PriceTerms):
    """A row of a catalog document, checked."""

    def same_as(self, price: Price) -> bool:
        """The same row, though a later price may have ended it since it was loaded."""
        return (price.key == self.key and price.effective_from == self.effective_from
                and price.unit_price == self.unit_price and price.unit == self.unit
                and (self.effective_to is None or price.effective_to == self.effective_to))


def parse_catalog(document: object, *, now: datetime) -> list[PriceSpec]:
    """A catalog document: a list of rows, or ``{"prices": [...]}``. Rows without
    ``effective_from`` take effect now. Every bad field is reported, naming the row."""
    if isinstance(document, Mapping) and document.get("currency", CURRENCY) != CURRENCY:
        raise ValidationFailed.single("currency", f"must be {CURRENCY}")
    rows = document.get("prices") if isinstance(document, Mapping) else document
    if not isinstance(rows, list) or not rows:
        raise ValidationFailed.single("prices", "must be a non-empty list of price rows")
    specs, errors = [], []
    for index, row in enumerate(rows):
        try:
            specs.append(_parse_row(row, now, f"prices[{index}]"))
        except ValidationFailed as failed:
            errors.extend(failed.errors)
    seen: set[tuple[PriceKey, datetime]] = set()
    for index, spec in enumerate(specs):
        if (spec.key, spec.effective_from) in seen:
            errors.append(FieldError(f"prices[{index}]", "the same price appears twice"))
        seen.add((spec.key, spec.effective_from))
    if errors:
        raise ValidationFailed(errors)
    return specs


def _parse_row(row: object, now: datetime, where: str) -> PriceSpec:
    if not isinstance(row, Mapping):
        raise ValidationFailed.single(where, "must be an object")
    unknown = set(row) - {"category", "provider", "model", "unit", "unit_price",
                          "effective_from", "effective_to", "tenant_id", "description"}
    if unknown:
        raise ValidationFailed.single(where, f"unknown fields: {', '.join(sorted(unknown))}")
    category = key(row.get("category"), field=f"{where}.category")
    price = unit_price(row.get("unit_price", ""), field=f"{where}.unit_price",
                       exact=True)
    if price < 0:
        raise ValidationFailed.single(f"{where}.unit_price", "must not be negative")
    start = _instant(row.get("effective_from"), f"{where}.effective_from") or now
    end = _instant(row.get("effective_to"), f"{where}.effective_to")
    if end is not None and end <= start:
        raise ValidationFailed.single(f"{where}.effective_to", "must be after effective_from")
    unit = row.get("unit", "unit")
    if not isinstance(unit, str) or not _UNIT.match(unit):
        raise ValidationFailed.single(f"{where}.unit", "must be a short lower-case word")
    return PriceSpec(category=category, unit_price=price, effective_from=start,
                     effective_to=end, unit=unit,
                     provider=name(row.get("provider"), field=f"{where}.provider"),
                     model=name(row.get("model"), field=f"{where}.model"),
                     tenant_id=_tenant(row.get("tenant_id"), f"{where}.tenant_id"))


def name(value: object, *, field: str) -> str | None:
    """A provider or model name, or None for any."""
    if value is None:
        return None
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationFailed.single(field, "must be 1-100 characters of letters, digits "
                                      "and _ . : / @ + -")
    return value


def _instant(value: object, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        at = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "must be an ISO 8601 date and time") from None
    if at.tzinfo is None:
        raise ValidationFailed.single(field, "must name its time zone (e.g. Z)")
    return at


def _tenant(value: object, field: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationFailed.single(field, "is not a valid UUID") from None


@attrs.frozen
class CatalogChange:
    """What loading a document does: rows to close (with their new end) and rows to add."""

    closed: list[tuple[Price, datetime]]
    added: list[Price]
    unchanged: int


def plan_load(existing: Sequence[Price], specs: Sequence[PriceSpec], *, mode: LoadMode,
              now: datetime, new_id: Callable[[], uuid.UUID]) -> CatalogChange:
    """Load without losing history: a new price closes the one in force at its start;
    loading the same document twice changes nothing. ``replace`` also closes, at ``now``,
    the rows of the loaded scopes (global, or the tenants named) that the document omits."""
    by_key: dict[PriceKey, list[Price]] = {}
    for price in existing:
        by_key.setdefault(price.key, []).append(price)
    closed: dict[uuid.UUID, tuple[Price, datetime]] = {}
    added: list[Price] = []
    unchanged = 0
    for spec in sorted(specs, key=lambda s: (str(s.key), s.effective_from)):
        rows = by_key.setdefault(spec.key, [])
        if any(spec.same_as(p) for p in rows):
            unchanged += 1
            continue
        for price in rows:
            current_end = closed[price.id][1] if price.id in closed else price.effective_to
            if price.effective_from >= spec.effective_from:
                start = price.effective_from.isoformat()
                raise Conflict(f"a price for {_label(spec.key)} from {start} already exists; "
                               "load prices in time order")
            if current_end is None or current_end > spec.effective_from:
                closed[price.id] = (price, spec.effective_from)
        new = Price(id=new_id(), category=spec.category, unit_price=spec.unit_price,
                    effective_from=spec.effective_from, created_at=now,
                    tenant_id=spec.tenant_id, provider=spec.provider, model=spec.model,
                    unit=spec.unit, effective_to=spec.effective_to)
        rows.append(new)
        added.append(new)
    if mode is LoadMode.REPLACE:
        loaded = {s.key for s in specs}
        scopes = {s.tenant_id for s in specs}
        for price in existing:
            end = closed[price.id][1] if price.id in closed else price.effective_to
            if price.key not in loaded and price.tenant_id in scopes and (end is None or
                                                                         end > now):
                closed[price.id] = (price, max(now, price.effective_from))
    return CatalogChange(closed=list(closed.values()), added=added, unchanged=unchanged)


def _label(price_key: PriceKey) -> str:
    return "/".join(part or "*" for part in price_key[1:])
