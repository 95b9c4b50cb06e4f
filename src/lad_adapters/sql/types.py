"""Column types that behave the same on PostgreSQL and SQLite."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect

from lad_domain.shared.money import AMOUNT_SCALE, UNIT_PRICE_SCALE


class JsonDocument(sa.TypeDecorator[Any]):
    """JSONB on PostgreSQL, JSON (text) on SQLite."""

    impl = sa.JSON
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.JSONB())
        return dialect.type_descriptor(sa.JSON())


Json = JsonDocument


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Timezone-aware timestamps: TIMESTAMPTZ on PostgreSQL; on SQLite, which keeps no
    zone, values are stored in UTC and read back as UTC-aware datetimes."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use a timezone-aware UTC value")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        at: datetime = datetime.fromisoformat(value) if isinstance(value, str) else value
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


_SQLITE_MAX = 2**63 - 1


class _FixedDecimal(sa.TypeDecorator[Decimal]):
    """NUMERIC(20, scale) on PostgreSQL; on SQLite, whose NUMERIC is a float, an exact
    BIGINT count of the smallest unit, so sums and comparisons in SQL stay exact."""

    impl = sa.Numeric
    cache_ok = True
    scale = AMOUNT_SCALE

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.BigInteger())
        return dialect.type_descriptor(sa.Numeric(20, self.scale, asdecimal=True))

    def process_bind_param(self, value: Decimal | int | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        minor = int(value.scaleb(self.scale).to_integral_exact())
        # Refused here, as a clear error, rather than by the driver (an OverflowError on
        # SQLite, a numeric overflow on PostgreSQL).
        too_large = (abs(minor) > _SQLITE_MAX if dialect.name == "sqlite"
                     else abs(value) >= 10 ** (20 - self.scale))
        if too_large:
            raise ValueError(f"{value:f} is beyond the largest figure this column stores")
        return minor if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-self.scale).quantize(Decimal(1).scaleb(-self.scale))
        return Decimal(value)


class Money(_FixedDecimal):
    """An amount: NUMERIC(20, 6)."""

    scale = AMOUNT_SCALE
    # Declared on each subclass: SQLAlchemy does not inherit it, and without it every
    # statement with such a column is compiled afresh (no statement cache).
    cache_ok = True


class UnitPrice(_FixedDecimal):
    """A unit price: NUMERIC(20, 10)."""

    scale = UNIT_PRICE_SCALE
    cache_ok = True

