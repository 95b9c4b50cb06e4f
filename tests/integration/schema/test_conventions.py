"""The rules every table follows, checked on the metadata: tenant keys, soft-delete unique
keys, the indexes the seed asks for, types, and names PostgreSQL accepts."""

from __future__ import annotations

import sqlalchemy as sa

from lad_adapters.sql.tables import metadata
from lad_adapters.sql.tables.base import SCOPE, VOLUME
from lad_adapters.sql.types import JsonDocument, Money, UnitPrice, UtcDateTime

TABLES = list(metadata.sorted_tables)
TENANT_OWNED = [t for t in TABLES if t.info[SCOPE] == "tenant"]
DOCUMENTS = {"config", "metadata", "data", "payload", "icp_data", "search_params",
             "company_data", "employee_data", "extraction"}


def test_only_the_seeds_shared_tables_are_global_or_mixed() -> None:
    shared = {t.name: t.info[SCOPE] for t in TABLES if t.info[SCOPE] != "tenant"}
    assert shared == {"tenants": "global", "users": "global", "user_identities": "global",
                      "feature_flags": "mixed", "billing_pricing_catalog": "mixed",
                      "voice_agent_voices": "mixed", "ai_keyword_expansions": "mixed"}


def test_tenant_owned_tables_lead_their_primary_key_with_tenant_id() -> None:
    wrong = [t.name for t in TENANT_OWNED
             if t.primary_key.columns.values()[0].name != "tenant_id" or t.c.tenant_id.nullable]
    assert wrong == []


def test_soft_deletable_tables_keep_only_live_rows_unique() -> None:
    wrong = [f"{t.name}.{i.name}" for t in TABLES if "deleted_at" in t.c
             for i in t.indexes if i.unique and not all(
                 "deleted_at IS NULL" in str(i.dialect_options[d]["where"])
                 for d in ("postgresql", "sqlite"))]
    wrong += [f"{t.name}.{c.name}" for t in TABLES if "deleted_at" in t.c
              for c in t.constraints if type(c) is sa.UniqueConstraint]
    assert wrong == []


def _leads_with(index: sa.Index, first: str, second: str) -> bool:
    text = [str(e) for e in index.expressions][:2]
    return text[0].endswith(first) and text[1].endswith(second)


def test_high_and_medium_volume_tables_list_newest_first_per_tenant() -> None:
    busy = [t for t in TABLES if t.info[VOLUME] in ("high", "medium")]
    assert len(busy) == 12
    missing = [t.name for t in busy if not any(
        _leads_with(i, "tenant_id", "created_at DESC") for i in t.indexes)]
    assert missing == []


def test_documents_are_json_money_is_fixed_scale_and_time_is_utc() -> None:
    wrong = []
    for table in TABLES:
        for column in table.columns:
            kind = column.type
            if column.name in DOCUMENTS and not isinstance(kind, JsonDocument):
                wrong.append(f"{table.name}.{column.name} is not JSON")
            if isinstance(kind, sa.Float | sa.DateTime) or (
                    isinstance(kind, sa.Numeric) and not isinstance(kind, Money | UnitPrice)):
                wrong.append(f"{table.name}.{column.name} is {kind!r}")
            if column.name.endswith("_at") and not isinstance(kind, UtcDateTime):
                wrong.append(f"{table.name}.{column.name} is not UtcDateTime")
    assert wrong == []


def test_every_name_fits_postgresql_identifiers() -> None:
    names = [str(c.name) for t in TABLES for c in (*t.constraints, *t.indexes)]
    assert [n for n in names + [t.name for t in TABLES] if len(n) > 63 or n == "None"] == []
