"""The Citus plan: how the schema is spread over a cluster by tenant_id once one PostgreSQL
machine is outgrown. Derived from the metadata, checked by a test, printed into
docs/scaling.md by ``lad db docs``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from lad_adapters.sql.tables.base import SCOPE, metadata

DISTRIBUTION_COLUMN = "tenant_id"
#: The first distributed table; every other one is co-located with it, so a tenant's rows
#: of every table live on the same node and joins and foreign keys between them stay local.
ANCHOR = "memberships"


def reference_tables() -> list[sa.Table]:
    """Global and mixed tables: small, shared by all tenants, copied to every node (a mixed
    table's global rows have no tenant, and Citus refuses NULL distribution values)."""
    return [t for t in metadata.sorted_tables if t.info[SCOPE] in ("global", "mixed")]


def distributed_tables() -> list[sa.Table]:
    """Tenant-owned tables, the anchor first, then parents before children."""
    owned = [t for t in metadata.sorted_tables if t.info[SCOPE] == "tenant"]
    return sorted(owned, key=lambda t: t.name != ANCHOR)


def statements() -> list[str]:
    """The statements that distribute an existing schema, in an order Citus accepts."""
    lines = [f"SELECT create_reference_table('{t.name}');" for t in reference_tables()]
    for t in distributed_tables():
        colocation = "" if t.name == ANCHOR else f", colocate_with => '{ANCHOR}'"
        lines.append(f"SELECT create_distributed_table('{t.name}', "
                     f"'{DISTRIBUTION_COLUMN}'{colocation});")
    return lines


def violations() -> list[str]:
    """Everything in the metadata that Citus would refuse for this plan."""
    distributed = {t.name for t in distributed_tables()}
    problems: list[str] = []
    for table in metadata.sorted_tables:
        if table.name in distributed:
            problems += _distributed_problems(table, distributed)
        else:
            problems += [f"{table.name}: reference table refers to distributed table "
                         f"{fk.referred_table.name}" for fk in table.foreign_key_constraints
                         if fk.referred_table.name in distributed]
    return problems


def _distributed_problems(table: sa.Table, distributed: set[str]) -> list[str]:
    problems = []
    column = table.c.get(DISTRIBUTION_COLUMN)
    if column is None or column.nullable:
        problems.append(f"{table.name}: no NOT NULL {DISTRIBUTION_COLUMN}")
    if DISTRIBUTION_COLUMN not in table.primary_key.columns:
        problems.append(f"{table.name}: primary key without {DISTRIBUTION_COLUMN}")
    for name, columns in unique_keys(table):
        if DISTRIBUTION_COLUMN not in columns:
            problems.append(f"{table.name}: unique key {name} without {DISTRIBUTION_COLUMN}")
    for fk in table.foreign_key_constraints:
        if fk.referred_table.name not in distributed:
            continue  # to a reference table: allowed from any node
        pairs = {(e.parent.name, e.column.name) for e in fk.elements}
        if (DISTRIBUTION_COLUMN, DISTRIBUTION_COLUMN) not in pairs:
            problems.append(f"{table.name}: foreign key {fk.name} to "
                            f"{fk.referred_table.name} without {DISTRIBUTION_COLUMN}")
    return problems


def unique_keys(table: sa.Table) -> Iterable[tuple[str, set[str]]]:
    """Each unique constraint and unique index of a table, with the columns it covers."""
    for constraint in table.constraints:
        if isinstance(constraint, sa.UniqueConstraint):
            yield str(constraint.name), {c.name for c in constraint.columns}
    for index in table.indexes:
        if index.unique:
            names = {c.name for expr in index.expressions for c in _columns_of(expr)}
            yield str(index.name), names


def _columns_of(expression: sa.ColumnElement[Any] | str) -> list[sa.ColumnClause[Any]]:
    if isinstance(expression, str):
        return [sa.column(expression)]
    return [c for c in sa.sql.visitors.iterate(expression)
            if isinstance(c, sa.ColumnClause)]
